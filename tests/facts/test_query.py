"""Finding the right fact: query synonyms, typos, numerals, definitions, entity weight."""

from __future__ import annotations

import pytest

from bot.facts import FactStore, compose_answer


def _top(store: FactStore, question: str) -> str:
    hits = store.search(question)
    assert hits, question
    return hits[0].fact.text


@pytest.mark.parametrize(
    ("question", "needle"),
    [
        # synonyms and one-way expansions (data/query.yml)
        ("南湖研究院所引进培养的高端人才有多少", "813人"),  # 引进培养 ~ 引育
        ("特色园区里的企业搞技术改造有没有扶持", "叠加式扶持"),  # 技术改造 ~ 技改
        ("嘉定特色园区的营收规模多大", "5000亿元"),  # 营收规模 ~ 总营收
        ("嘉定特色园区产业集中程度如何", "75%"),  # 产业集中程度 ~ 产业集聚度
        ("嘉定特色园区用地紧张怎么办", "工业上楼"),  # 用地紧张 -> the measures taken
        ("张江嘉定园有科技类的专门窗口吗", "科技服务专窗"),  # 专门窗口 ~ 专窗
        ("嘉定对企业HR有什么评选", "菁英HR"),  # 评选 ~ 选树
        ("嘉定园高企要达到多少家", "2000家"),  # 高企 ~ 高新技术企业
        ("南湖已经聚集了多少微电子企业", "265家"),  # 聚集 ~ 集聚
        ("菊园跟哪些院所合建了科创园", "科创园"),  # 合建 ~ 合作建设
        # Chinese-numeral years
        ("南湖區二〇二二年微電子產業規模是多少", "347.7亿元"),
        # typos in long names, even when the typo makes a word (高兴)
        ("菊园新区院地合做科创街区哪年成为先行先试区", "2022年"),
        ("张江高兴区嘉定园的高新技术企业目标", "2000家"),
    ],
)
def test_paraphrases_find_the_fact(store: FactStore, question: str, needle: str) -> None:
    assert needle in _top(store, question)


@pytest.mark.parametrize(
    ("question", "needle"),
    [
        # definitions in parentheses or 即 clauses, not a sentence that uses the term
        ("三港两园是哪几个园区", "“三港”即嘉定氢能港"),
        ("新四化具体指什么", "电动化"),
        ("菊中板块定位是啥", "院地合作成果转化"),  # 以…为主的“菊中”产业板块
        ("张江高新区嘉定园是什么", "重要组成部分"),  # 张江高新区嘉定园是…
        # a programme named in the question outweighs an everyday word (工程师)
        ("我们公司要给外籍工程师办来华工作许可，嘉定哪个窗口能办", "外国人来华工作许可"),
        # the number asked for, not the fund's 20亿元 or the article title
        ("南湖微电子产业规模有多少亿", "347.7亿元"),
        ("南湖现在聚集了多少家微电子企业", "265家"),
        # the park named in the question: facts about it come first
        ("张江嘉定园的未来产业聚焦哪三大领域", "未来能源"),
    ],
)
def test_the_answering_fact_ranks_first(store: FactStore, question: str, needle: str) -> None:
    assert needle in _top(store, question)


def test_a_fact_listing_the_parts_joins_the_answer(store: FactStore) -> None:
    # "聚焦“六大破冰行动”，从提升惠企政策获得感、…等方面": the list that answers
    # "from which aspects" is cited next to the sentence that names the campaign.
    answer = compose_answer(store.search("六大破冰行动从哪些方面优化营商环境"))
    assert "惠企政策获得感" in answer.text


def test_time_questions_are_not_definition_questions(store: FactStore) -> None:
    analyse = store._analyser.analyse
    assert analyse("汽车芯谷是什么").asks_definition
    assert not analyse("汽车芯谷是什么时候布局的").asks_definition


def test_a_word_running_past_a_name_is_no_typo(store: FactStore) -> None:
    # 嘉定氢能方面 is 嘉定 + 氢能 + 方面, not a misspelt 嘉定氢能港.
    query = store._analyser.analyse("嘉定氢能方面燃料电池有什么布局")
    assert "嘉定氢能港" not in {g.head for g in query.groups}
    assert "燃料电池" in _top(store, "嘉定氢能方面燃料电池有什么布局")


def test_function_word_coinages_are_not_content_words(store: FactStore) -> None:
    # jieba's HMM glues 能 + 办 into "能办"; both are stopwords.
    query = store._analyser.analyse("嘉定哪个窗口能办")
    assert "能办" not in {g.head for g in query.groups}


def test_a_measure_word_must_end_a_word(store: FactStore) -> None:
    query = store._analyser.analyse("嘉定人才港要引进多少人力资源服务机构")
    assert "人力资源" in {g.head for g in query.groups}
    assert query.amount_units == ()
