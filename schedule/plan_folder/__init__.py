"""A plan folder (program.yaml, tasks.xlsx or .csv, units.yaml) read into a ProgramSpec with located
problems."""

from schedule.plan_folder.reader import PlanReading, Problem, read_plan

__all__ = ["PlanReading", "Problem", "read_plan"]
