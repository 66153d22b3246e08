#!/usr/bin/env python
"""Build the example plans' 分工表 (tasks.xlsx) from the tables held below as Python data.

    .venv/bin/python scripts/build_example_plans.py            # writes every plan
    .venv/bin/python scripts/build_example_plans.py chengdu-2023

Writes the tasks.xlsx of plans/chengdu-2023, county-ip-2023, ningxia-2021 and sichuan-2021 the way a
coordinator's office lays out a 分工表: Chinese header in row 1, the area (重点任务) as merged cells over its
rows, wrapped text, frozen header, fixed column widths. The output is byte-for-byte reproducible (fixed
document timestamps and zip entry dates), so a diff of the .xlsx in review means the data changed.

program.yaml, units.yaml and README.md of each plan are written by hand next to the workbook; the
README says which parts of the data below come verbatim from the source document and which are assumed.
"""

from __future__ import annotations

import argparse
import io
import math
import re
import sys
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.worksheet.datavalidation import DataValidation

ROOT = Path(__file__).resolve().parents[1]
PLANS = ROOT / "plans"

# Phase display names; they must equal the `name` of each phase in program.yaml.
DEPLOYMENT, IMPLEMENTATION, SELF_CHECK, REMEDIATION, ACCEPTANCE = (
    "任务部署", "组织实施", "自查自评", "补差提升", "验收准备")
PHASE_NAMES = [DEPLOYMENT, IMPLEMENTATION, SELF_CHECK, REMEDIATION, ACCEPTANCE]


@dataclass(frozen=True)
class Task:
    code: str
    area: str
    title: str
    lead: tuple[str, ...]
    co: tuple[str, ...]
    due: str
    evidence: str
    phase: str


# ---------------------------------------------------------------------------------------------------
# plans/chengdu-2023 — seed 004: 成都市建设国家知识产权保护示范区实施方案（2023-2025年）（征求意见稿）
#
# 工作举措: the clauses of 三、重点任务 (一)…(五), one measure per clause, in the seed's wording
# (full-width punctuation restored). D-1/D-2 are 四、工作进度(一); YS-1/YS-2 are 四、工作进度(五).
# 牵头单位, 配合单位, 完成时限 and 成果形式 are assumed: the seed's attachment 分工表 is not in the source.
# ---------------------------------------------------------------------------------------------------

# Unit names exactly as the table writes them; units.yaml resolves each by name or alias.
LEAD_OFFICE = "市知识产权工作领导小组办公室"
MSA = "市市场监管局（市知识产权局）"
MEMBERS = "各成员单位"  # the collective of the 领导小组's member units (units.yaml: members)
COURT = "市中级人民法院"
PROCURATORATE = "市人民检察院"
POLICE = "市公安局"
JUSTICE = "市司法局"
COPYRIGHT = "市委宣传部（市版权局）"
TALENT = "市委人才办"
HRSS = "市人社局"
PORT = "市口岸物流办"
NDRC = "市发展改革委"
COMMERCE = "市商务局"
FOREIGN = "市外办"
SCITECH = "市科技局"
ECONINFO = "市经信局"
NEWECON = "市新经济委"
AGRI = "市农业农村局"
EDU = "市教育局"
CULTURE = "市文广旅局"
FIN_REG = "四川银保监局"  # since 2023-07: 国家金融监督管理总局四川监管局 (its name in units.yaml)
LOCAL_FIN = "市金融监管局"
CCPIT = "市贸促会"
SASAC = "市国资委"
INVEST = "市投促局"
CUSTOMS = "成都海关"

AREA_DEPLOY = "任务部署"
AREA_A = "（一）完善知识产权协同保护体系"
AREA_B = "（二）完善知识产权全链条保护体系"
AREA_C = "（三）完善知识产权快速保护体系"
AREA_D = "（四）完善知识产权国际保护体系"
AREA_E = "（五）完善知识产权人才支撑体系"
AREA_SUPPORT = "五、保障措施"
AREA_ACCEPT = "验收准备"
FINANCE = "市财政局"

# (code, 工作举措, 牵头单位, 配合单位, 完成时限, 成果形式); grouped by area, in table order.
# fmt: off
CHENGDU: list[tuple[str, str, list[tuple[str, str, tuple[str, ...], tuple[str, ...], str, str]]]] = [
    (AREA_DEPLOY, DEPLOYMENT, [
        ("D-1", "印发《成都市建设国家知识产权保护示范区实施方案》。",
         (LEAD_OFFICE,), (MSA,), "2023年4月15日前", "印发文件"),
        ("D-2", "编制“成都市国家知识产权保护示范区建设重点任务主要工作举措及责任分工表”，明确任务内容、责任"
                "分工和时间节点。",
         (LEAD_OFFICE,), (MSA, MEMBERS), "2023年4月底前", "分工表及印发文件"),
    ]),
    (AREA_A, IMPLEMENTATION, [
        ("A1", "树牢成渝地区双城经济圈一体化发展理念，加强顶层设计和统筹协调。",
         (LEAD_OFFICE,), (MSA, NDRC), "每季度", "季度工作调度会议纪要"),
        ("A2", "建立成渝地区知识产权保护联动机制。",
         (MSA,), (NDRC,), "2023年第三季度", "合作协议及联席会议纪要"),
        ("A3", "深化成德眉资地区知识产权保护跨区域协作。",
         (MSA,), (COURT, PROCURATORATE, POLICE), "2023年底前", "跨区域协作协议、联合执法案件统计表"),
        ("A4", "创新成都市知识产权保护工作，积极发挥引领带动作用。",
         (MSA,), (), "每年", "年度创新举措及典型案例汇编"),
        ("A5", "推动建立西部省会城市多方知识产权保护合作机制。",
         (MSA,), (COURT, PROCURATORATE), "2024年上半年", "合作备忘录及会议纪要"),
        ("A6", "加快塑造创新发展新优势，形成与沿海地区协作互动新局面。",
         (MSA,), (ECONINFO, SCITECH), "持续推进", "协作交流活动记录"),
    ]),
    (AREA_B, IMPLEMENTATION, [
        ("B1", "高标准编制《成都市知识产权创造、运用、保护、管理、服务全链条保护指引》。",
         (MSA,), (JUSTICE,), "2023年底前", "印发文件（全链条保护指引）"),
        ("B2", "修订成都市知识产权保护地方法规政策。",
         (MSA,), (JUSTICE,), "2024年6月底前", "法规政策修订草案、合法性审查意见及印发文件"),
        ("B3", "加强商业秘密保护。",
         (MSA,), (POLICE,), "2023年9月底前", "商业秘密保护工作方案、保护指导站建设台账"),
        ("B4", "强化地理标志规范管理。",
         (MSA,), (AGRI,), "2023年底前", "地理标志专用标志使用核准及监督检查台账"),
        ("B5", "开展新领域新业态知识产权保护研究。",
         (MSA,), (NEWECON, COPYRIGHT), "2024年3月15日前", "研究报告"),
        ("B6", "依托“知识产权智慧管理平台”“知识产权交易服务平台”等智慧平台，高效能运用成都市知识产权保护中"
               "心，"
               "打造“一核多平台”全链条保护体系。",
         (MSA,), (SCITECH,), "2023年6月底前", "平台上线截图、保护中心运行情况报告"),
        ("B7", "依托“数字版权综合服务平台”，打造“一核多平台”全链条保护体系。",
         (COPYRIGHT,), (MSA,), "2023年底前", "平台上线截图、版权登记统计表"),
        ("B8", "依托“犯罪侦查情报中心”“智慧法院”等智慧平台，打造“一核多平台”全链条保护体系。",
         (POLICE, COURT), (MSA,), "2023年第三季度", "平台运行情况报告、案件统计表"),
        ("B9", "推进知识产权信用体系建设工作，创造公平竞争的营商环境。",
         (MSA,), (NDRC,), "2024年上半年", "信用管理制度文件、失信主体名单公布截图"),
    ]),
    (AREA_C, IMPLEMENTATION, [
        ("C1", "凝聚国家、省、市、区四级知识产权保护资源，依托天府中央法务区建设，打造知识产权保护生态圈。",
         (JUSTICE,), (MSA, COURT), "2023年底前", "入驻机构清单及工作方案"),
        ("C2", "构建行政快速保护机制，加强专利侵权纠纷行政裁决工作。",
         (MSA,), (JUSTICE,), "每月5日前", "行政裁决案件统计表（月报）"),
        ("C3", "规范建设“知识产权仲调衔接中心”和知识产权维权工作站（点），探索侵权赔偿调解。",
         (MSA,), (JUSTICE, COURT), "2023年8月底前", "中心及工作站（点）挂牌照片、调解案件台账"),
        ("C4", "建立知识产权行政禁令制度，高效保护权利人合法权益。",
         (MSA,), (JUSTICE,), "2024年上半年", "印发文件（行政禁令制度）"),
        ("C5", "加大司法保护改革力度，完善“四位一体”的技术事实查明机制。",
         (COURT,), (PROCURATORATE, MSA), "2023年11月底前", "工作机制文件及技术调查官名册"),
        ("C6", "构建重大疑难复杂知识产权案件行政机关邀请公安机关、检察机关提前介入机制。",
         (MSA,), (POLICE, PROCURATORATE), "2023年第三季度", "会签文件及提前介入案件台账"),
        ("C7", "出台知识产权刑事案件“类案证据指引”，提升司法保护质效。",
         (PROCURATORATE,), (POLICE, COURT), "2024年3月15日前", "印发文件（类案证据指引）"),
    ]),
    (AREA_D, IMPLEMENTATION, [
        ("D1", "加强知识产权国际保护合作机制建设，巩固完善和“一带一路”重点国家、地区、地区组织的知识产权合"
               "作。",
         (MSA,), (FOREIGN, COMMERCE), "持续推进", "合作协议、交流活动记录"),
        ("D2", "强化知识产权国际保护能力提升。",
         (MSA,), (COMMERCE, CCPIT), "每年", "培训台账及年度工作总结"),
        ("D3", "高标准建设知识产权服务领域特色服务出口基地。",
         (COMMERCE,), (MSA,), "2024年上半年", "基地建设方案及申报（认定）材料"),
        ("D4", "高标准建设成都国际铁路港“知识产权+蓉欧班列”基地。",
         (PORT,), (MSA, CUSTOMS), "2023年底前", "基地挂牌照片及运行情况报告"),
        ("D5", "推动自主知识产权产品覆盖“一带一路”沿线国家和地区。",
         (COMMERCE,), (ECONINFO, PORT), "2024年6月底前", "自主知识产权产品出口统计表"),
        ("D6", "建立海外知识产权纠纷援助、信息沟通、涉外法律服务机制。",
         (MSA,), (JUSTICE, COMMERCE, CCPIT), "2023年9月底前", "工作机制文件、援助案件台账"),
        ("D7", "积极争取成都海外知识产权保护中心建设，加强海外风险防控与纠纷应对指导服务。",
         (MSA,), (COMMERCE,), "2024年一季度", "申报材料、指导服务台账"),
        ("D8", "支持保险机构推出知识产权综合保障险种，建立健全知识产权海外维权互助机制。",
         (MSA,), (FIN_REG, LOCAL_FIN), "2023年底前", "险种产品备案材料、投保统计表"),
    ]),
    (AREA_E, IMPLEMENTATION, [
        ("E1", "将知识产权保护人才纳入“蓉漂人才计划”“产业生态圈人才计划”“成都城市猎头计划”。",
         (TALENT,), (HRSS, MSA), "2023年6月底前", "印发文件（人才计划目录）"),
        ("E2", "积极召引国际知识产权保护机构和全球高端人才。",
         (MSA,), (INVEST, HRSS), "持续推进", "引进机构及人才名单"),
        ("E3", "携手高校、科研院所、知识产权服务机构，创新人才政策体系，建立科学的知识产权人才培养机制，加"
               "强知识产权人才队伍建设。",
         (MSA,), (EDU, SCITECH, HRSS), "2024年上半年", "印发文件及合作协议"),
        ("E4", "构建知识产权专家库和知识产权技术调查官库。",
         (MSA,), (COURT,), "2023年10月底前", "专家库及技术调查官库名册"),
        ("E5", "遴选和培育一批具备国际视野、战略思维的知识产权专家人才队伍。",
         (MSA,), (HRSS,), "每年12月底前", "遴选名单及培训台账"),
        ("E6", "推行知识产权总监制度，为高水平建设知识产权快速协同保护体系提供专业的智力支撑。",
         (MSA,), (ECONINFO, SASAC), "2024年4月底前", "印发文件及试点企业名单"),
        ("E7", "探索建立“互联网+”知识产权保护云博物馆，加强知识产权文化传播。",
         (MSA,), (COPYRIGHT, CULTURE), "2024年6月底前", "平台上线截图"),
        ("E8", "实施知识产权普及教育工程，推动知识产权普及教育进校园，夯实知识产权人才基础。",
         (EDU,), (MSA,), "长期坚持", "活动记录及培训台账"),
    ]),
    # 五、保障措施: the clauses that carry a duty, in the seed's wording (the others only exhort).
    (AREA_SUPPORT, IMPLEMENTATION, [
        ("BZ-1", "健全促进知识产权创新发展和保护的政策措施，优化专项资金支出结构，加大对知识产权保护相关项目"
                 "的支持力"
                 "度。",
         (FINANCE,), (MSA,), "每年", "年度专项资金预算及支出结构说明"),
        ("BZ-2", "对示范区建设工作成果和典型案例及时进行宣传报道，营造全社会“尊重知识、崇尚创新、诚信守法、"
                 "公平竞争”"
                 "的知识产权文化氛围。",
         (COPYRIGHT,), (MSA, COURT, PROCURATORATE), "每半年", "典型案例宣传报道清单"),
        ("BZ-3", "将示范区建设纳入各级党委政府绩效考核和营商环境评价体系。",
         (LEAD_OFFICE,), (NDRC,), "2023年底前", "绩效考核和营商环境评价指标文件"),
        ("BZ-4", "每年组织开展知识产权保护社会满意度调查和保护水平评估。",
         (MSA,), (), "每年11月底前", "社会满意度调查报告、保护水平评估报告"),
    ]),
    (AREA_ACCEPT, ACCEPTANCE, [
        ("YS-1", "梳理示范区建设验收评审相应工作证明材料。",
         (LEAD_OFFICE,), (MSA, MEMBERS), "2025年4月15日前", "验收评审证明材料汇编及目录"),
        ("YS-2", "总结示范区建设经验，积极准备配合国家知识产权局验收评审。",
         (LEAD_OFFICE,), (MSA,), "2025年4月", "示范区建设工作总结报告"),
    ]),
]
# fmt: on


def chengdu_tasks() -> list[Task]:
    return grouped_tasks(CHENGDU)


# ---------------------------------------------------------------------------------------------------
# plans/county-ip-2023 — seed 001: 强化知识产权保护实施意见 (a county's 16 measures)
#
# (序号, 重点任务, measure title, measure text, 责任单位, 完成时限, 成果形式, 阶段)
# Title, text and 责任单位 are copied verbatim from the seed file, OCR wording included (效劳, 开展, 标准,
# 规那么, 〞 …). The seed file is NFKC-folded (its ， ； appear as , ;); fullwidth_punct() restores the
# full-width punctuation of the original document. 完成时限, 成果形式 and 阶段 are assumed.
# ---------------------------------------------------------------------------------------------------

# fmt: off
COUNTY: list[tuple[int, str, str, str, str, str, str, str]] = [
    # 一、强化政策导向
    (1, "一、强化政策导向", "加强政策配套。",
     "充分认识保护知识产权在引领支撑区域经济高质量开展中的重要作用,定期召开会议,专题研究知识产权保护工作,听"
     "取工作情况汇报,进一步完善知识产权保护体制机制,加强机构队伍建设,落实人员经费保障。依法依规落实好国家、"
     "省、市知识产权保护优惠政策,在知识产权申请维护、专利预警、专利信息分析和维权援助等方面,制定配套政策措施"
     ",扶持创新主体加大知识产权保护,打通政策链、效劳链、操作链,推动知识产权事业开展和执法能力建设。",
     "县市场监管局〔知识产权局〕、财政局",
     "2023年底前", "配套政策文件、专题会议纪要", "组织实施"),
    (2, "一、强化政策导向", "加大资金投入。",
     "县财政要根据知识产权事业开展实际需求,加大资金投入。设立知识产权开展保护专项资金,纳入财政预算,并制定相"
     "应资金管理方法,确保专项资金标准管理、高效利用。加大金融支持力度,支持金融机构扩大知识产权质押贷款规模。",
     "县财政局、市场监管局〔知识产权局〕、银保监组",
     "每年", "年度专项资金预算批复及资金管理办法、知识产权质押贷款统计表", "组织实施"),
    (3, "一、强化政策导向", "实施正向鼓励。",
     "将知识产权保护工作纳入政府绩效考核和营商环境评价体系。落实国家有关规定,对在知识产权创造、运用、管理、"
     "保护工作中作出突出奉献的集体和个人,优先推荐表彰表扬等奖励;对在知识产权案件侦破或查处中起到重要作用的举"
     "报人员,加大奖励力度。",
     "县委组织部、宣传部、县发改局、市场监管局〔知识产权局〕、人社局",
     "2024年6月底前", "绩效考核和营商环境评价指标文件、表彰奖励文件", "组织实施"),
    # 二、打造效劳平台
    (4, "二、打造效劳平台", "构建知识产权公共效劳体系。",
     "依托“知创中国〞“知创〞“知创〞线上线下知识产权公共效劳平台,构建知识产权公共效劳体系,提升知识产权效劳便"
     "民利民水平。充分发挥省知识产权信用监管和执法信息共享平台,以及知识产权信用数据库的作用,开展侵权假冒智能"
     "监测,提升打击侵权假冒行为的效率和精准度。",
     "县市场监管局〔知识产权局〕、发改局〔信息中心〕、公安局、县法院、县检察院",
     "2023年底前", "公共服务平台（窗口）运行截图、侵权假冒监测台账", "组织实施"),
    # 三、优化开展环境
    (5, "三、优化开展环境", "培育和开展专业机构。",
     "积极对接省市部署要求,探索、培育和开展知识产权仲裁机构、调解组织和公证机构,充分发挥其职能作用。支持工业"
     "园区建立或引入知识产权专业效劳机构,高效对接行政执法、司法保护和仲裁等保护渠道和环节,为企业提供“一站式"
     "〞效劳。",
     "县市场监管局〔知识产权局〕、司法局、县法院、县检察院,各乡镇人民政府、街道办事处",
     "2024年6月底前", "仲裁调解公证机构及园区服务机构名单、工作方案", "组织实施"),
    (6, "三、优化开展环境", "加强人才队伍建设。",
     "强化知识产权职业化人才培养,加大企事业单位知识产权专员培训力度,对在我县企事业单位连续工作2年以上〔含2年"
     "〕,且通过国家专利代理师资格考试获得专利代理师资格的人员,按规定给予奖励。支持知识产权优秀管理人员、代理"
     "人员申报“知创〞专家智库,加强知识产权行政执法和司法队伍人员配备和职业化专业化建设,市场监管综合执法队伍"
     "中配备知识产权专业行政执法人员,确保队伍稳定。建立健全知识产权仲裁、调解、公证、社会监督等人才的选聘、"
     "管理和鼓励制度。",
     "县人社局、市场监管局〔知识产权局〕、司法局",
     "长期坚持", "培训台账、专利代理师奖励名单、执法人员配备情况", "组织实施"),
    (7, "三、优化开展环境", "强化技术支撑。",
     "运用大数据管理,通过源头追溯、实时监测、在线识别等技术手段强化知识产权保护。充分发挥省知识产权智库作用,"
     "在知识产权司法保护和行政执法中引入技术调查官制度,协助司法部门和行政执法部门准确高效认定技术事实。推广"
     "应用公证电子存证技术。",
     "县发改局、市场监管局〔知识产权局〕,县法院、县检察院、县公安局、司法局",
     "2024年12月底", "技术调查官制度文件、电子存证应用情况报告", "组织实施"),
    (8, "三、优化开展环境", "强化社会监督。",
     "实施市场主体信用分类监管,建立重复侵权企业名录社会公布制度,落实行政执法信息公开,强化社会舆论监督。鼓励"
     "支持行业协会、商会、联盟等行业组织发挥作用,建立健全知识产权志愿者制度,充分调动社会力量参与知识产权保护"
     "。通过信用信息共享平台,依法依规向相关部门和单位提供知识产权领域信用信息,并向社会公布严重失信法人主体名"
     "单。",
     "县市场监管局〔知识产权局〕、发改局、司法局、商务局、公安局,县法院、县检察院、县工商联、人行支行",
     "2024年上半年", "信用分类监管制度文件、重复侵权企业名录公布截图", "组织实施"),
    # 四、聚焦重点领域
    (9, "四、聚焦重点领域", "加大重点领域保护力度。",
     "全面加强对新能源、石材加工机械、水产养殖加工和传统文化等领域的知识产权保护,深入推进产业专利导航和专利"
     "数据共享,完善相关政策规定。建立完善电子商务领域知识产权诚信体系和行政执法机制建设,加大对侵权行为的侦办"
     "、查处力度,催促电商平台企业落实相关责任,提高知识产权风险防范能力。",
     "县市场监管局〔知识产权局〕、商务局、国资金融效劳中心、文旅局。",
     "2023年四季度", "产业专利导航报告、电商领域执法案件统计表", "组织实施"),
    # 五、提升执法维权
    (10, "五、提升执法维权", "完善司法保护。",
     "推进知识产权民事、刑事、行政案件“三合一〞审判机制改革。强化民事司法保护,执行惩罚性赔偿制度。推动完善知"
     "识产权技术事实查明和证据规那么制度,遏制知识产权虚假诉讼和恶意诉讼。加强刑事司法保护,加大对知识产权犯罪"
     "案件的侦办力度。推进行政执法和刑事司法立案标准协调衔接,完善案件移送要求和证据标准。",
     "县法院、县检察院、县公安局、市场监管局〔知识产权局〕",
     "长期坚持", "案件统计表、“三合一”审判机制改革材料", "组织实施"),
    (11, "五、提升执法维权", "强化行政执法。",
     "围绕政府关切、社会关注、群众关心的重点难点热点问题,开展常态化的专项打击行动,重拳打击专利、商标、版权、"
     "地理标志侵权假冒行为,对重大案件挂牌督办,保持高压严打态势。推动电商平台建立运用专利权评价报告快速处置实"
     "用新型和外观设计专利侵权投诉制度。指导各类网站标准管理,及时删除侵权内容,屏蔽或断开盗版网站链接,停止侵"
     "权信息传播,杜绝利用版权诉讼进行投机性牟利行为。加大知识产权案件执行力度,引导知识产权代理行业加强自律自"
     "治,规制商标恶意注册、非正常专利申请等行为。",
     "县市场监管局〔知识产权局〕、公安局、文旅局、商务局,县委网信办,县法院、县检察院",
     "每季度", "专项行动工作方案及案件统计表", "组织实施"),
    (12, "五、提升执法维权", "开展海外维权援助。",
     "建立重大涉外知识产权纠纷信息通报和应急机制,及时获取知识产权相关信息。鼓励保险机构开展知识产权海外侵权"
     "责任险、专利执行险、专利被侵权损失险等保险业务,推动我县权利人合法权益在海外依法得到同等保护。",
     "县市场监管局〔知识产权局〕、商务局、贸促会、银保监组",
     "2024年6月底前", "涉外纠纷信息通报和应急机制文件、海外保险业务统计表", "组织实施"),
    (13, "五、提升执法维权", "加强维权补助。",
     "对专利侵权诉讼案件中胜诉的县维权请求人〔户籍地在县的自然人或者注册地在县的企业法人〕,按照维权代理费的5"
     "0%给予补助。其中,对自然人补助不超过5000元;对法人补助不超过1万元。对在涉外或具有重大影响的知识产权案件"
     "中胜诉的企事业单位,代理费补助不超过5万元。〔以上补助不与其他各级政府同类项目的资助或奖励重复发放。〕",
     "县市场监管局〔知识产权局〕、财政局",
     "每年", "维权补助申请审核台账及资金拨付凭证", "组织实施"),
    # 六、加强组织领导
    (14, "六、加强组织领导", "成立工作领导小组。",
     "全面贯彻党中央、国务院和省委、省政府的决策部署,落实知识产权保护“属地责任〞。成立县知识产权工作领导小组"
     ",建立知识产权工作联席会议制度,统筹、协调和督导全县知识产权保护工作,定期开展评估。",
     "县直有关单位",
     "2023年6月底前", "成立领导小组的印发文件、联席会议制度", "任务部署"),
    (15, "六、加强组织领导", "密切协作联动。",
     "健全知识产权公证存证、仲裁、调解、行政执法和司法保护之间的衔接机制,加强信息沟通和共享。制定跨部门知识"
     "产权案件处理规程,健全部门之间重大案件联合查办和移交机制,加强跨区域知识产权办案协作。依法打击侵犯台资企"
     "业知识产权行为,保护台湾同胞和台资企业的正当权益。",
     "县法院、县检察院、县公安局、司法局、市场监管局〔知识产权局〕,县委台港澳办",
     "2024年3月底前", "跨部门案件处理规程、联合查办案件台账", "组织实施"),
    (16, "六、加强组织领导", "加强宣传引导。",
     "广泛宣传知识产权法律法规,定期公开发布典型案件,加强警示引导,营造全社会参与保护知识产权的法治气氛。加强"
     "知识产权公益宣传,开展知识产权普及教育,提高全社会特别是创新创业主体知识产权保护意识,推动形成新时代知识"
     "产权保护工作新局面。",
     "县直有关单位,各乡镇人民政府、街道办事处",
     "长期坚持", "宣传活动记录、典型案件发布截图", "组织实施"),
]
# fmt: on

_FULLWIDTH = str.maketrans({",": "，", ";": "；", ":": "：", "(": "（", ")": "）", "?": "？"})


def fullwidth_punct(text: str) -> str:
    """Undo the NFKC folding of the seed file's Chinese punctuation (， ； ： （ ） ？)."""
    return text.translate(_FULLWIDTH)


def county_tasks() -> list[Task]:
    tasks = []
    for no, heading, title, text, units, due, evidence, phase in COUNTY:
        # The seed ends measure 9's unit list with a stray 。; it is not part of a unit name.
        names = fullwidth_punct(units).rstrip("。")
        tasks.append(
            Task(str(no), heading, fullwidth_punct(title + text), (names,), (), due, evidence, phase)
        )
    return tasks


# ---------------------------------------------------------------------------------------------------
# plans/ningxia-2021 — seed 002: 宁夏市场监管厅（知识产权局）贯彻落实全国知识产权局局长会议精神
#
# 工作举措: the meeting's requirements (会议要求 / 指出 / 强调), one measure per clause, in its wording.
# The seed is a traditional-script mirror of a simplified-script article; the measures are given back in
# simplified script, word for word. 牵头单位, 配合单位, 完成时限 and 成果形式 are assumed (README.md): the
# seed names no unit but the 市场监管厅（知识产权局）, and no date but the year 2021 and the 4·26 and 5·10
# days.
# ---------------------------------------------------------------------------------------------------

NX_OFFICE = "自治区知识产权战略实施工作联席会议办公室"
NX_AMR = "自治区市场监管厅（知识产权局）"
NX_CITIES = "各地级市市场监管局"  # collective: the five 地级市' 市场监管局 (units.yaml: members)
NX_JUSTICE = "自治区司法厅"
NX_POLICE = "自治区公安厅"
NX_COURT = "自治区高级人民法院"
NX_AGRI = "自治区农业农村厅"
NX_EDU = "自治区教育厅"
NX_SCITECH = "自治区科技厅"
NX_PUBLICITY = "自治区党委宣传部（版权局）"

NX_DEPLOY, NX_YEAR = "任务部署", "年度推进"

# (code, 工作举措, 牵头单位, 配合单位, 完成时限, 成果形式); grouped by area, in the seed's order.
# fmt: off
NINGXIA: list[tuple[str, str, list[tuple[str, str, tuple[str, ...], tuple[str, ...], str, str]]]] = [
    ("一、加强知识产权顶层设计", NX_DEPLOY, [
        ("1", "充分发挥知识产权战略实施统筹协调机制，制定《2021年宁夏知识产权战略实施工作要点》。",
         (NX_OFFICE,), (NX_AMR,), "3月31日前", "印发的工作要点"),
        ("2", "印发《2021年〈宁夏关于强化知识产权保护的实施意见〉推进计划》。",
         (NX_AMR,), (NX_OFFICE,), "4月15日前", "印发的推进计划"),
    ]),
    ("一、加强知识产权顶层设计", NX_YEAR, [
        ("3", "有序推进《宁夏知识产权发展“十四五”规划》编制工作，为加快知识产权强区建设提供政策支撑。",
         (NX_AMR,), (NX_OFFICE,), "年底前", "规划（送审稿）"),
    ]),
    ("二、提高知识产权创造质量", NX_YEAR, [
        ("4", "加强对制约全区发展的关键核心技术的研发力度，进行关键核心技术和高质量专利技术布局。",
         (NX_SCITECH,), (NX_AMR,), "下半年", "专利布局工作报告"),
        ("5", "聚焦实体经济和现代产业体系，培育高价值专利，发展专利密集型产业、商标品牌经济和地理标志特色产"
              "业。",
         (NX_AMR,), (NX_SCITECH, NX_AGRI), "全年", "高价值专利培育台账"),
        ("6", "严厉打击不以保护创新为目的的非正常专利申请和不以使用为目的的商标恶意注册行为。",
         (NX_AMR,), (), "每半年", "非正常专利申请及商标恶意注册处置台账"),
    ]),
    ("三、强化知识产权保护", NX_YEAR, [
        ("7", "加快修订《宁夏回族自治区专利保护条例》，及时制定保护知识产权的规范性文件。",
         (NX_AMR,), (NX_JUSTICE,), "年底前", "条例修订草案、规范性文件"),
        ("8", "加强专利、商标行政执法指导，开展“铁拳”等知识产权执法专项行动，严查严惩侵犯专利、商标、版权、"
              "地理标志等违法行为，加大知识产权侵权假冒行为的惩戒力度。",
         (NX_CITIES,), (NX_POLICE,), "每季度", "专项行动案件统计表"),
        ("9", "推进行政执法和刑事司法立案标准协调衔接。",
         (NX_AMR,), (NX_POLICE, NX_JUSTICE), "6月30日前", "衔接工作机制文件"),
        ("10", "培育调解组织和仲裁机构，做好在线诉调对接。",
         (NX_JUSTICE,), (NX_COURT, NX_AMR), "年底前", "调解组织和仲裁机构名单、诉调对接案件台账"),
        ("11", "支持全区特色产品申请地理标志注册、使用、管理、保护。加大对枸杞、滩羊、甘草、硒砂瓜、马铃薯和"
               "葡萄酒"
               "等地理标志产品的重点保护和协同保护。",
         (NX_AMR,), (NX_AGRI,), "下半年", "地理标志保护工作台账"),
    ]),
    ("四、提升知识产权运用管理水平", NX_YEAR, [
        ("12", "指导国家知识产权试点城市、园区工作，培育知识产权示范优势（试点）企业，推进企业知识产权管理体"
               "系标准化"
               "建设。",
         (NX_AMR,), (NX_CITIES,), "年底前", "试点示范工作总结"),
        ("13", "开展地理标志运营试点，实施地理标志运用促进工程，着力打造区域品牌和特色地理标志产品。",
         (NX_AMR,), (NX_AGRI,), "年底前", "运营试点方案及工作总结"),
        ("14", "推动专利信息分析利用帮扶，发展知识产权信息专业服务机构。",
         (NX_AMR,), (), "下半年", "帮扶企业名单"),
        ("15", "加强知识产权服务业监管，建立代理行业监管长效机制，持续开展“蓝天”专项行动。",
         (NX_AMR,), (), "每半年", "“蓝天”专项行动工作报告"),
        ("16", "推荐高质量发明专利参评中国专利奖，进一步拓展专利商标服务便利化。",
         (NX_AMR,), (), "按通知要求", "推荐材料"),
    ]),
    ("五、夯实知识产权事业发展基础", NX_YEAR, [
        ("17", "加强知识产权宣传教育，以“4·26”世界知识产权日、“5·10”中国品牌日以及中国专利周为契机，联合举办"
               "知识"
               "产权宣传活动，构建大宣传工作格局。",
         (NX_AMR,), (NX_PUBLICITY,), "4月26日前", "宣传活动方案及活动记录"),
        ("18", "持续推动中小学知识产权教育试点示范工作。",
         (NX_EDU,), (NX_AMR,), "年底前", "试点示范学校名单"),
        ("19", "加大知识产权人才队伍建设，聚集各类培训资源，扎实开展实务型人才培训，持续提高管理和服务水平。",
         (NX_AMR,), (), "上半年", "培训台账"),
    ]),
]
# fmt: on


def grouped_tasks(groups) -> list[Task]:
    return [
        Task(code, area, title, lead, co, due, evidence, phase)
        for area, phase, rows in groups
        for code, title, lead, co, due, evidence in rows
    ]


# ---------------------------------------------------------------------------------------------------
# plans/sichuan-2021 — seed 003: 2021年全省知识产权局局长会议（四川在线，2021-02-09）
#
# 工作举措: the tasks the meeting set (万鹏龙、谢商华、赵辉的要求), one per clause, in the seed's wording,
# given back in simplified script. The plan has no phases: the year runs as one phase from the meeting
# (2021-02-08) to 2021-12-31. Units beyond those the seed names, and every 完成时限 and 成果形式, are
# assumed (README.md).
# ---------------------------------------------------------------------------------------------------

SC_OFFICE = "省知识产权工作领导小组办公室"
SC_AMR = "省市场监管局（知识产权局）"
SC_CENTER = "省知识产权服务促进中心"
SC_MEMBERS = "各成员单位"  # collective: the 领导小组's member units (units.yaml)
SC_CITIES = "各市（州）市场监管局"  # collective: the 21 市（州）, the level below the province
SC_AGRI = "省农业农村厅"
SC_JUSTICE = "省司法厅"
SC_POLICE = "省公安厅"
SC_COURT = "省高级人民法院"
SC_PUBLICITY = "省委宣传部（省版权局）"
SC_YEAR = "全程推进"

# fmt: off
SICHUAN: list[tuple[str, str, list[tuple[str, str, tuple[str, ...], tuple[str, ...], str, str]]]] = [
    ("一、聚焦重点方向", SC_YEAR, [
        ("SC-1", "聚焦全省创新驱动发展重点方向，培育知识产权高质量发展核心载体。",
         (SC_AMR,), (SC_CENTER,), "年底前", "核心载体培育名单及工作报告"),
        ("SC-2", "聚焦知识产权价值最大化实现，以点带面促进知识产权市场化运营。",
         (SC_AMR,), (SC_CENTER,), "下半年", "运营试点工作报告"),
        ("SC-3", "聚焦巩固拓展脱贫攻坚成果同乡村振兴的有效衔接，实施商标、地理标志品牌经济培育专项行动。",
         (SC_AMR,), (SC_AGRI,), "年底前", "专项行动方案及工作总结"),
    ]),
    ("二、共建大保护工作格局", SC_YEAR, [
        ("SC-4", "要更加注重凝聚各方力量，共建大保护工作格局。",
         (SC_MEMBERS,), (), "年底前", "本单位知识产权保护工作总结"),
        ("SC-5", "要鲜明严管导向，让监管真正长出“牙齿”，达到“查办一案、警示一片、震慑几年”的效果；加大执法力"
                 "度，"
                 "有力打击违法行为。",
         (SC_CITIES,), (SC_POLICE,), "每季度", "执法案件统计表"),
        ("SC-6", "要抓住重点、开拓创新，着力打造全国一流知识产权保护高地。",
         (SC_AMR,), (SC_COURT, SC_JUSTICE), "年底前", "保护高地建设工作报告"),
        ("SC-7", "要巩固工作支撑，不断完善政策制度。",
         (SC_AMR,), (SC_JUSTICE,), "上半年", "政策制度文件"),
        ("SC-8", "要创新工作举措，大力提高保护水平；要优化激励机制，切实焕发保护活力。",
         (SC_AMR,), (), "下半年", "工作举措及激励机制文件"),
        ("SC-9", "要加强队伍建设，切实提高专业水平。",
         (SC_AMR,), (), "全年", "培训台账"),
    ]),
    ("三、知识产权服务促进", SC_YEAR, [
        ("SC-10", "聚焦良好创新环境和营商环境打造，实施知识产权维权保护工程。",
         (SC_CENTER,), (SC_AMR,), "年底前", "维权保护工程工作报告"),
        ("SC-11", "聚焦放大“放管服”改革整体效应，加强知识产权优质服务供给。",
         (SC_CENTER,), (), "每半年", "服务供给情况报告"),
        ("SC-12", "聚焦创新创业文化培育，加强知识产权合作交流，夯实事业发展基础。",
         (SC_CENTER,), (), "年底前", "合作交流活动记录"),
    ]),
    ("四、重点年度工作任务", SC_YEAR, [
        ("SC-13", "抓好工作谋划、工作考核、改革创新、示范试点、政策执行、川渝合作等重点年度工作任务的高效落"
                  "实。",
         (SC_OFFICE,), (SC_AMR, SC_CENTER), "年底前", "年度工作任务落实情况报告"),
        ("SC-14", "进一步加强工作宣传，加强政务信息采集、报送工作。",
         (SC_AMR,), (SC_CENTER,), "按通知要求", "政务信息报送记录"),
        ("SC-15", "提高知识产权数据利用效能，加强知识产权宣传工作，有效展示四川知识产权工作形象。",
         (SC_AMR,), (SC_PUBLICITY,), "4月26日前", "宣传活动记录"),
        ("SC-16", "进一步加强知识产权工作的纪律要求，建立风清气正的行业秩序。",
         (SC_AMR,), (), "2021年", "纪律要求文件"),
    ]),
]
# fmt: on


# ---------------------------------------------------------------------------------------------------
# The workbook
# ---------------------------------------------------------------------------------------------------

FONT = "宋体"
THIN = Side(style="thin", color="000000")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEADER_FILL = PatternFill("solid", fgColor="D9E1F2")
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
LEFT = Alignment(horizontal="left", vertical="center", wrap_text=True)
# Fixed document dates: the seed's publication day, so that two builds give identical bytes.
DOC_DATE = datetime(2023, 3, 22, 9, 0, 0)


@dataclass(frozen=True)
class Column:
    header: str
    width: float
    align: Alignment


def _units(names: tuple[str, ...]) -> str:
    return "、".join(names)


def _line_count(text: str, width: float) -> int:
    # A CJK character takes about two width units of the default font; keep a margin of two units.
    units = sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)
    return max(1, math.ceil(units / max(width - 2, 1)))


def write_workbook(path: Path, title: str, tasks: list[Task], *, unit_columns: str,
                   phases: list[str] | None = PHASE_NAMES) -> None:
    """unit_columns: "lead+co" (牵头单位, 配合单位) or "units" (one 责任单位 column, the first listed
    leads). phases: the plan's phase names for the 阶段 column, or None for a plan without phases (no
    阶段 column)."""
    columns = [Column("序号", 7, CENTER), Column("重点任务", 18, CENTER), Column("工作举措", 62, LEFT)]
    if unit_columns == "lead+co":
        columns += [Column("牵头单位", 20, CENTER), Column("配合单位", 24, CENTER)]
    else:
        columns += [Column("责任单位", 30, CENTER)]
    columns += [Column("完成时限", 14, CENTER), Column("成果形式", 26, CENTER)]
    columns += [Column("阶段", 10, CENTER)] if phases else []

    wb = Workbook()
    ws = wb.active
    ws.title = "分工表"
    _write_header(ws, columns)

    for r, task in enumerate(tasks, start=2):
        values = [task.code, task.area, task.title]
        values += [_units(task.lead), _units(task.co)] if unit_columns == "lead+co" else [_units(task.lead)]
        values += [task.due, task.evidence] + ([task.phase] if phases else [])
        lines = 1
        for c, (col, value) in enumerate(zip(columns, values, strict=True), start=1):
            cell = ws.cell(row=r, column=c, value=value or None)
            cell.font = Font(name=FONT, size=11)
            cell.alignment = col.align
            cell.border = BORDER
            if col.header != "重点任务":  # the area is merged; its height spreads over the rows
                lines = max(lines, _line_count(str(value), col.width))
        ws.row_dimensions[r].height = 15 * lines + 6

    _merge_areas(ws, tasks)

    ws.freeze_panes = "A2"
    ws.print_title_rows = "1:1"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True

    if phases:
        phase_col = ws.cell(row=1, column=len(columns)).column_letter
        dv = DataValidation(type="list", formula1='"' + ",".join(phases) + '"', allow_blank=True)
        dv.add(f"{phase_col}2:{phase_col}{len(tasks) + 1}")
        ws.add_data_validation(dv)

    wb.properties.title = title
    wb.properties.creator = "scripts/build_example_plans.py"
    wb.properties.lastModifiedBy = "scripts/build_example_plans.py"
    wb.properties.created = DOC_DATE
    wb.properties.modified = DOC_DATE
    _save_reproducibly(wb, path)


def _write_header(ws, columns: list[Column]) -> None:
    for c, col in enumerate(columns, start=1):
        cell = ws.cell(row=1, column=c, value=col.header)
        cell.font = Font(name=FONT, size=11, bold=True)
        cell.fill = HEADER_FILL
        cell.alignment = CENTER
        cell.border = BORDER
        ws.column_dimensions[cell.column_letter].width = col.width
    ws.row_dimensions[1].height = 24


def _merge_areas(ws, tasks: list[Task]) -> None:
    """The area column as merged cells over each run of rows of the same area."""
    area_col = 2
    start = 2
    for r in range(2, len(tasks) + 3):
        here = tasks[r - 2].area if r - 2 < len(tasks) else None
        if here != tasks[start - 2].area:
            if r - 1 > start:
                ws.merge_cells(start_row=start, start_column=area_col, end_row=r - 1, end_column=area_col)
            start = r


def _save_reproducibly(wb: Workbook, path: Path) -> None:
    """Save with fixed zip entry dates and a fixed dcterms:modified (openpyxl stamps both with now)."""
    raw = io.BytesIO()
    wb.save(raw)
    stamp = DOC_DATE.strftime("%Y-%m-%dT%H:%M:%SZ")
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                    rb"\g<1>" + stamp.encode() + rb"\g<2>",
                    data,
                )
            entry = zipfile.ZipInfo(info.filename, date_time=DOC_DATE.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            dst.writestr(entry, data)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(out.getvalue())


BUILDS = {
    "chengdu-2023": lambda: write_workbook(
        PLANS / "chengdu-2023" / "tasks.xlsx",
        "成都市国家知识产权保护示范区建设重点任务工作举措及责任分工表", chengdu_tasks(),
        unit_columns="lead+co"),
    "county-ip-2023": lambda: write_workbook(
        PLANS / "county-ip-2023" / "tasks.xlsx", "强化知识产权保护实施意见重点任务及责任分工表",
        county_tasks(), unit_columns="units"),
    "ningxia-2021": lambda: write_workbook(
        PLANS / "ningxia-2021" / "tasks.xlsx", "2021年宁夏知识产权工作要点责任分工表",
        grouped_tasks(NINGXIA), unit_columns="lead+co", phases=[NX_DEPLOY, NX_YEAR]),
    "sichuan-2021": lambda: write_workbook(
        PLANS / "sichuan-2021" / "tasks.xlsx", "2021年全省知识产权工作重点任务分工表",
        grouped_tasks(SICHUAN), unit_columns="lead+co", phases=None),
}


def _check(tasks: list[Task], phases: list[str]) -> None:
    codes = [t.code for t in tasks]
    dupes = sorted({c for c in codes if codes.count(c) > 1})
    if dupes:
        sys.exit(f"duplicate task codes: {dupes}")
    for t in tasks:
        if not t.title or not t.lead or t.phase not in phases:
            sys.exit(f"incomplete task {t.code}: {t}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("plans", nargs="*", metavar="PLAN", help=f"one of {', '.join(BUILDS)}; default: all")
    args = parser.parse_args(argv)
    unknown = [name for name in args.plans if name not in BUILDS]
    if unknown:
        parser.error(f"unknown plan(s): {', '.join(unknown)}")
    _check(chengdu_tasks(), PHASE_NAMES)
    _check(county_tasks(), PHASE_NAMES)
    _check(grouped_tasks(NINGXIA), [NX_DEPLOY, NX_YEAR])
    _check(grouped_tasks(SICHUAN), [SC_YEAR])
    for name in args.plans or list(BUILDS):
        BUILDS[name]()
        print(f"wrote {(PLANS / name / 'tasks.xlsx').relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
