#!/usr/bin/python3
"""Generate a synthetic eventmd archive and the rows the extension must show.

Usage:
    /usr/bin/python3 tests/gen_corpus.py --out DIR --files N [--seed S]

Writes
    DIR/archive/      the archive root: N event files laid out like the real archive
                      (ROOT/news/YYYY/MM/DD/<slug>.md, padded and unpadded folders, older
                      versions, day index pages, a few drafts, problem files and non-event
                      files that must produce no rows);
    DIR/expected.sql  BEGIN; ... COMMIT; creating and filling exp_events, exp_sources,
                      exp_related and exp_changes with the rows the four eventmd tables must
                      show for that archive.

The expected rows come from the generator's own model of each event (the plain text it
chose, the URLs it built, the timestamps it set), never from parsing the written files.
The markdown writer escapes the model text so that a CommonMark parser (cmark, no smart
punctuation) gives back exactly that text.  The same --seed (default 1) and --files give
byte-identical output.  Python 3 standard library only.

Decisions the extension has to agree with, beyond SPEC.md, are listed in MODEL NOTES below.
"""

# MODEL NOTES (what the expected rows assume)
#  * The date heading is always the first heading, `### [YYYY-MM-DD](href)`; day_index is
#    that href.  Drafts (ROOT/drafts/<slug>.md) take their date from it.
#  * Summary: only plain paragraphs, 0-3, joined by "\n\n".  Soft line breaks inside a
#    paragraph become one space.  Inline emphasis / strong / code spans wrap single ASCII
#    words only and vanish from the plain text.  No hard breaks, no inline HTML, no images.
#  * Entities used: &amp; &quot; &#039; &#39; &#x27; &#8217; &rsquo; &mdash; &eacute;
#    plus backslash escapes of \ ` * _ [ ] < > # ~ & and of a leading - + = or "N." / "N)".
#  * Link text may carry leading/trailing spaces (trimmed in the rows) and, rarely, an
#    emphasised word (markers vanish; such emphasis is never the item's annotation).
#  * Cover Image items: link text exactly "Cover Image" in some ASCII case, never padded;
#    occasionally two of them (the first wins, neither is a sources row).  A Source section
#    may hold only a Cover Image (n_sources 0).
#  * sources.domain: host = text between "scheme://" and the next "/", "?" or "#";
#    lower-cased, then ":port" removed, then one leading "www." removed.  URLs with no
#    "//" authority (mailto:, root-relative, relative) have domain NULL.  Hosts may be
#    upper/mixed case ("WWW.BBC.CO.UK" -> "bbc.co.uk"); "www3." is not stripped.
#  * URLs contain no spaces, parentheses, backslashes or ';' (so no entity can appear in a
#    destination); query strings may contain '&' followed by a name and '='.
#  * related.target_date: path date of the target (first /YYYY/M/D/ run of folders);
#    dangling targets use valid calendar dates or have no date run at all
#    (/news/topics/<slug>.md, /news/2014/02/<slug>.md, /drafts/<slug>.md).
#  * changes: labels "First version", "Update", "Current version"; every older version file
#    carries the same full Changes list as the newest file.
#  * Problem files: "no title" files have no H1 and no paragraphs (summary NULL);
#    "date heading X differs from path" files have heading date = path date +/- 1..3 days.
#  * mtime = the version's timestamp (UTC epoch seconds), set with os.utime.
#  * Month/day folder spelling is chosen per day folder, so both 2015/3/... and
#    2015/03/... folders can exist for the same month (never two folders for one date).

import argparse
import calendar
import datetime
import os
import random
import re
import sys
import time

# ---------------------------------------------------------------------------------------
# Vocabulary for realistic text
# ---------------------------------------------------------------------------------------

ACTORS = [
    "Russian Foreign Minister Sergey Lavrov", "U.S. Secretary of State John Kerry",
    "The United Nations Security Council", "Egyptian President Abdel Fattah el-Sisi",
    "German Chancellor Angela Merkel", "French President Emmanuel Macron",
    "The European Union", "NATO", "The World Health Organization", "Police",
    "A coalition of protest groups", "The rebel alliance", "The Supreme Court", "Parliament",
    "The central bank", "A team of scientists", "The fire brigade", "A rescue team",
    "The electorate", "The government of Israel",
    "Hamas", "Fatah", "Turkish President Recep Tayyip Erdoğan",
    "Greek Prime Minister Alexis Tsipras", "Chinese President Xi Jinping",
    "Japanese Prime Minister Shinzō Abe", "Brazilian President Luiz Inácio Lula da Silva",
    "Iceland's parliament, the Althing,", "The International Monetary Fund", "NASA",
    "The European Space Agency", "Oil company BP", "Microsoft", "A court in São Paulo",
    "Opposition leader Alexei Navalny", "The Kurdish Peshmerga", "The Taliban",
    "Doctors Without Borders", "The International Committee of the Red Cross",
    "The national student union", "The transport workers' union", "The city council of Zürich",
    "The Mexican government", "India's Election Commission", "The African Union",
    "Saudi Arabia", "Iran", "North Korea", "The South Korean prosecutor's office",
    "An Australian research team", "Canadian Prime Minister Justin Trudeau", "Pope Francis",
    "FIFA", "The International Olympic Committee",
    "The Verkhovna Rada (Ukrainian: Верховна Рада)",
    "The Hellenic Parliament (Greek: Βουλή των Ελλήνων)",
    "The Knesset (Hebrew: הכנסת)", "The Arab League (Arabic: جامعة الدول العربية)",
    "The State Duma (Russian: Государственная дума)",
    "Japan's Ministry of Defense (防衛省)", "China's State Council (国务院)",
    "Polish President Andrzej Duda", "Côte d'Ivoire's electoral commission",
]
VERBS = [
    "announces", "condemns", "agrees to", "rejects", "approves", "launches", "suspends",
    "signs", "calls for", "opens an investigation into", "votes against", "welcomes",
    "postpones", "begins", "ends", "warns of", "denies", "confirms", "criticizes",
    "backs", "debates", "delays", "ratifies", "withdraws from",
]
OBJECTS = [
    "a new trade agreement", "sanctions against Russia", "a ceasefire in eastern Ukraine",
    "talks on Syria and Ukraine", "a referendum on independence",
    "the construction of a new pipeline", "a bill on same-sex marriage",
    "an emergency budget", "military-technological cooperation",
    "joint military exercises", "a vaccination campaign against measles",
    "the results of the presidential election", "a plan to reduce carbon emissions",
    "peace talks with the rebels", "an inquiry into the crash", "a unity deal",
    "new restrictions on the press", "the release of political prisoners",
    "a bailout package worth €86 billion", "a $2.5 billion loan",
    "the closure of the border", "a state of emergency", "the extradition request",
    "the mission to Mars", "a new coalition government", "the Paris climate agreement",
    "the \"Belt and Road\" initiative (一带一路)", "the Nord Stream 2 pipeline",
    "the so-called \"snap\" election", "a 24-hour general strike",
]
PLACES = [
    "in Moscow", "in Cairo", "in Kyiv", "in Donetsk", "in Damascus", "in Beijing",
    "in Tokyo", "in Athens", "in Istanbul", "in Jerusalem", "in Gaza", "in Tehran",
    "in Brussels", "in Geneva", "in Zürich", "in São Paulo", "in Bogotá", "in Reykjavík",
    "in Kraków", "in Łódź", "in Ho Chi Minh City", "in Nairobi", "in Lagos",
    "in Johannesburg", "in Sydney", "in Ottawa", "in Mexico City", "in New Delhi",
    "in Karachi", "in Kabul", "in Baghdad", "in Riyadh", "in Seoul", "in Pyongyang",
    "in Manila", "in Jakarta", "in Caracas", "in Lima", "in Buenos Aires",
    "in Washington, D.C.", "in London", "in Paris", "in Berlin", "in Madrid",
    "in Rome", "in Warsaw", "in Ankara", "in Minsk", "in Tbilisi", "in Yerevan",
    "in Baku", "in Hanoi", "in Bangkok", "in Addis Ababa", "in Khartoum", "in Tripoli",
    "in Tunis", "in Dakar", "in Kinshasa", "in Havana", "in Thessaloniki (Θεσσαλονίκη)",
    "in Saint Petersburg (Санкт-Петербург)", "in Osaka (大阪)", "in Alexandria (الإسكندرية)",
    "in Malmö", "in Düsseldorf", "in Besançon",
]
CLAUSES = [
    "", "", "", "", ", killing at least {n} people",
    ", forcing the evacuation of at least {n} people", ", according to officials",
    " amid growing protests", " after {n} days of negotiations",
    ", the first such move since {y}", ", despite objections from the opposition",
    " in a vote of {n} to {m}", ", injuring {n} others", ", state media reports",
    " for the first time in {n} years", ", ending a {n}-year dispute",
    " as Sisi's supporters rally outside", " ahead of next month's summit",
]
# Sentences for summaries; several put "2013." / "-" / "+" / "=" tokens mid-text, which a
# soft wrap may move to the start of a line (the writer must then escape them).
SUMMARY_SENTENCES = [
    "{A} says the decision is \"a step forward\" for the region.",
    "The move comes {n} days after a similar announcement {P}.",
    "Unemployment fell to {n}.{m} per cent, down from {m}.{n} in {y}. Analysts expect further gains.",
    "The vote was {n} - {m} in favour, with several members abstaining.",
    "Turnout reached {n} per cent, the highest since {y}. Officials praised the result.",
    "Prices rose by + {m} points on Monday before falling back.",
    "Under the agreement, base = {n} units for each member state.",
    "Critics say the plan does not go far enough and warn of new tensions.",
    "{A} has not yet commented on the reports.",
    "The incident is the deadliest of its kind since {y}.",
    "Negotiations are expected to resume next week {P}.",
    "Russian leader makes surprise declaration of support for Field Marshal Sisi's presidential bid - which has not yet been announced",
    "It was the {n}th such incident this year, according to a count by local media.",
    "Officials said about {n} people were still missing.",
]
# Text with markdown specials, entities-to-be and other traps (model text, unescaped).
SPECIAL_SNIPPETS = [
    "The hashtag #BringBackOurGirls trends worldwide.",
    "O'Brien calls the report \"fake news\".",
    "Hackers targeted the folder C:\\Windows\\System32 on government machines.",
    "The bill [HR 1234] passes the House.",
    "The app's rating rises from 3* to 5* overnight.",
    "Users of the snake_case API and __init__ hooks complain.",
    "Prices rise ~30% in a week.",
    "The <script> tag exploit affects all major browsers.",
    "Running `rm -rf /` deleted the archive.",
    "AT&T and Johnson & Johnson shares fall.",
    "Polls show support > 50% and opposition < 40%.",
    "The R&amp;D budget line (sic) is doubled.",
    "The motto is *never again*.",
    "The image ![protest] circulates online.",
    "Rebels hold **most** of the city, says the #1 militia.",
    "A backslash \\ at the end is kept \\",
    "The phrase [citation needed] appears in the draft.",
    "Sisi's supporters say it's \"historic\" — opponents disagree.",
    "The company’s shares fall 12%.",
    "Wages rise 3 * 2 = 6 per cent in nominal terms.",
    "The café and the résumé rules change.",
    "Brackets ] and [ are unbalanced here.",
    "Temperatures reach 45 °C in Seville.",
    "### Not a heading, says the editor.",
    "--- is not a rule here.",
    "`Backticks` and ``double ones`` stay literal.",
    "The e-mail <press@example.org> was leaked.",
    "The entity &#039; should stay literal text.",
]
# Paragraph openings that would make a block (list, heading, quote, rule) if unescaped.
PARA_STARTS = [
    "- Reporting by Reuters.", "1. Background:", "2014. A year of crisis.",
    "+ Additional reporting by AFP.", "> Quote of the day:", "# 1 seed loses.",
    "== Update ==", "3) Third point:", "* Editor's note:", "~~~ Transcript follows.",
    "<b>Breaking</b>:", "*** Developing story.", "1) First:", "10. Tenth point:",
]
NATIVE_TITLES = [
    "Пожар в торговом центре «Синдика» на северо-западе Москвы: эвакуированы более 3000 человек.",
    "Σεισμός 6,1 Ρίχτερ στην Κεφαλονιά προκαλεί ζημιές σε σπίτια και δρόμους του νησιού.",
    "东京奥运会推迟至2021年举行，国际奥委会与日本政府达成一致。",
    "الرئيس المصري يلتقي وزير الخارجية الروسي في القاهرة لبحث التعاون العسكري بين البلدين.",
    "Incendie à Notre-Dame de Paris : la flèche de la cathédrale s'effondre.",
    "Terremoto de magnitude 7,8 atinge o Equador e deixa centenas de mortos.",
    "Верховна Рада ухвалила закон про мову після тривалих дебатів.",
    "日本の国会で新しい安全保障関連法案が可決されました。",
]
TOPICS = [
    "Egypt-Russia relations", "2014 Ukrainian crisis", "Syrian civil war", "Brexit",
    "COVID-19 pandemic", "Greek government-debt crisis", "Arab Spring",
    "European migrant crisis", "Israeli-Palestinian conflict", "Climate change",
    "2011 Tōhoku earthquake", "Venezuelan crisis",
]
CONTEXT_TERMS = [
    "Moscow", "Sergey Lavrov", "Cairo", "Côte d'Ivoire", "São Paulo", "Москва",
    "Αθήνα", "東京", "القاهرة", "Tel Aviv", "Johnson & Johnson", "AT&T",
    "Recep Tayyip Erdoğan", "2014 Ukrainian revolution", "COVID-19 pandemic", "Brexit",
    "Syrian civil war", "Hurricane Katrina", "Fukushima Daiichi", "#MeToo", "Kyiv",
    "Angela Merkel", "European Union", "Gaza Strip", "Hamas", "Fatah", "Iceland",
    "Reykjavík", "United Nations", "Xi Jinping", "Donetsk", "Beijing", "Kraków",
]
# (name, host) of news outlets; hosts as they appear in URLs.
OUTLETS = [
    ("Al-Ahram", "english.ahram.org.eg"), ("The Hindu", "www.thehindu.com"),
    ("The Telegraph", "www.telegraph.co.uk"), ("BBC News", "www.bbc.co.uk"),
    ("Reuters", "www.reuters.com"), ("Al Jazeera", "www.aljazeera.com"),
    ("The Guardian", "www.theguardian.com"), ("The New York Times", "www.nytimes.com"),
    ("Deutsche Welle", "www.dw.com"), ("France 24", "www.france24.com"),
    ("NHK World", "www3.nhk.or.jp"), ("Xinhua", "www.xinhuanet.com"),
    ("ТАСС", "tass.ru"), ("Kathimerini", "www.ekathimerini.com"),
    ("Le Monde", "www.lemonde.fr"), ("El País", "elpais.com"),
    ("Haaretz", "www.haaretz.com"), ("ABC News (Australia)", "www.abc.net.au"),
    ("CBC", "www.cbc.ca"), ("The Straits Times", "www.straitstimes.com"),
    ("Dawn", "www.dawn.com"), ("Mail & Guardian", "mg.co.za"),
    ("South China Morning Post", "www.scmp.com"), ("新华网", "www.news.cn"),
    ("Al Arabiya العربية", "www.alarabiya.net"), ("Yahoo! News", "news.yahoo.com"),
    ("The Washington Post", "www.washingtonpost.com"), ("AP", "apnews.com"),
    ("RT", "www.rt.com"), ("Meduza", "meduza.io"), ("Kyiv Post", "www.kyivpost.com"),
    ("Sky News", "news.sky.com"), ("CNN", "edition.cnn.com"),
    ("Bloomberg", "www.bloomberg.com"), ("The Moscow Times", "www.themoscowtimes.com"),
    ("Hürriyet Daily News", "www.hurriyetdailynews.com"),
    ("The Japan Times", "www.japantimes.co.jp"), ("Yonhap", "en.yna.co.kr"),
    ("Radio Free Europe/Radio Liberty", "www.rferl.org"),
    ("Reuters [via Yahoo]", "uk.news.yahoo.com"), ("Tom's Guide", "www.tomsguide.com"),
    ("The Times of Israel", "www.timesofisrael.com"), ("Ekathimerini_English", "www.ekathimerini.com"),
]
COVER_HOSTS = [
    "i.telegraph.co.uk", "static01.nyt.com", "ichef.bbci.co.uk", "i.guim.co.uk",
    "www.aljazeera.com", "s.yimg.com", "upload.wikimedia.org",
]
COVER_TEXTS = ["Cover Image"] * 6 + ["cover image", "COVER IMAGE", "Cover image", "cover Image"]
NO_HOST_URLS = [
    "mailto:newsdesk@ahram.org.eg", "mailto:tips@example.org",
    "/news/statements/press-release.pdf", "../attachments/statement.pdf",
    "press-release.html", "urn:isbn:9780140449136",
]
PATH_WORDS = (
    "world europe africa middle-east asia politics economy business science health "
    "russia egypt ukraine syria climate election vote court protest deal talks crisis "
    "war peace fire quake flood storm summit minister president parliament"
).split()

# Archive span and the moment the archive's version history starts (cf. seed: 2017-08-25).
SPAN_START = datetime.date(2001, 1, 1)
SPAN_END = datetime.date(2024, 12, 31)
HISTORY_START = calendar.timegm((2017, 8, 1, 0, 0, 0))


# ---------------------------------------------------------------------------------------
# Model text generation
# ---------------------------------------------------------------------------------------

def fill(template, rng):
    """Fill {A} {P} {n} {m} {y} placeholders of a template."""
    return template.format(
        A=rng.choice(ACTORS), P=rng.choice(PLACES), n=rng.randint(2, 300),
        m=rng.randint(1, 99), y=rng.randint(1990, 2016))


def news_sentence(rng):
    """One headline-style sentence of plain model text."""
    s = "%s %s %s %s%s." % (rng.choice(ACTORS), rng.choice(VERBS), rng.choice(OBJECTS),
                            rng.choice(PLACES), rng.choice(CLAUSES))
    return fill(s, rng) if "{" in s else s


def norm(text):
    """Single-space a model text and trim it (model texts never hold other white space)."""
    return " ".join(text.split())


def make_title(rng):
    """An event title, typically 100-400 characters."""
    target = rng.randint(100, 400)
    parts = []
    if rng.random() < 0.03:
        parts.append(rng.choice(NATIVE_TITLES))
    total = sum(len(p) + 1 for p in parts)
    while total < target:
        s = rng.choice(SPECIAL_SNIPPETS) if rng.random() < 0.06 else news_sentence(rng)
        if parts and total + len(s) > 420:
            break
        parts.append(s)
        total += len(s) + 1
    return norm(" ".join(parts))


def version_title(base, rng):
    """The title of an older version of an event whose newest title is `base`."""
    r = rng.random()
    if r < 0.5:
        topic = rng.choice(TOPICS)
        return norm(topic + (":" if rng.random() < 0.5 else ": ") + base)
    shorter = base.rsplit(". ", 1)[0] + "."
    if r < 0.8 and len(shorter) >= 100:
        return norm(shorter)
    if len(base) < 300:
        return norm(base + " " + news_sentence(rng))
    return norm(base + " (updated)")


def make_paragraph(rng):
    """A summary paragraph of plain model text."""
    parts = []
    if rng.random() < 0.05:
        parts.append(rng.choice(PARA_STARTS))
    target = rng.randint(80, 650)
    total = 0
    while total < target:
        r = rng.random()
        if r < 0.08:
            s = rng.choice(SPECIAL_SNIPPETS)
        elif r < 0.55:
            s = fill(rng.choice(SUMMARY_SENTENCES), rng)
        else:
            s = news_sentence(rng)
        parts.append(s)
        total += len(s) + 1
    return norm(" ".join(parts))


def make_context(rng):
    k = rng.choice((1, 1, 1, 2, 2, 3))
    terms = []
    while len(terms) < k:
        t = rng.choice(CONTEXT_TERMS)
        if t not in terms:
            terms.append(t)
    return ", ".join(terms)


def slugify(title, keep_unicode):
    """Slug like the real archive's: lower case, runs of other characters -> '-', <=140
    characters and <=200 bytes.  Non-ASCII letters are kept only when keep_unicode."""
    out = []
    dash = False
    for ch in title.lower():
        if ch.isalnum() and (ch.isascii() or keep_unicode):
            out.append(ch)
            dash = False
        elif not dash:
            out.append("-")
            dash = True
    s = "".join(out).strip("-")[:140].rstrip("-")
    while len(s.encode("utf-8")) > 200:
        s = s[:-1].rstrip("-")
    return s or "event"


# ---------------------------------------------------------------------------------------
# Markdown writing: escape model text so that cmark's plain text equals it exactly
# ---------------------------------------------------------------------------------------

_SPECIAL = re.compile("[\\\\`*_\\[\\]<>#~&'\"’—é]")
_APOS = ("&#039;", "&#39;", "&#x27;")


def esc(text, rng):
    """Backslash-escape markdown specials; spell some characters as entities."""
    if not _SPECIAL.search(text):
        return text
    rnd = rng.random

    def rep(m):
        c = m.group(0)
        if c == "&":
            return "&amp;" if rnd() < 0.7 else "\\&"
        if c == "'":
            return rng.choice(_APOS) if rnd() < 0.15 else c
        if c == '"':
            return "&quot;" if rnd() < 0.3 else c
        if c == "’":
            return ("&#8217;" if rnd() < 0.5 else "&rsquo;") if rnd() < 0.3 else c
        if c == "—":
            return "&mdash;" if rnd() < 0.3 else c
        if c == "é":
            return "&eacute;" if rnd() < 0.1 else c
        return "\\" + c
    return _SPECIAL.sub(rep, text)


_WORD = re.compile(r"[A-Za-z]{3,}\Z")
_DECOR = ("*%s*", "_%s_", "**%s**", "`%s`")


def decorate(tokens, rng, p):
    """With probability p, wrap one purely alphabetic token in emphasis/strong/code
    markers (which vanish from the plain text).  tokens: escaped, space-separated."""
    if rng.random() < p:
        cands = [i for i, t in enumerate(tokens) if _WORD.match(t)]
        if cands:
            i = rng.choice(cands)
            tokens[i] = rng.choice(_DECOR) % tokens[i]
    return tokens


def inline(text, rng, p_decor=0.0):
    """Markdown for a one-line inline text (heading content, link text, emphasis)."""
    s = esc(text, rng)
    if p_decor:
        s = " ".join(decorate(s.split(" "), rng, p_decor))
    return s


# A line start that would open a block: bullet / ordered list marker, setext underline.
# (#, >, <, ~, `, *, _ are escaped everywhere by esc().)
_GUARD = re.compile(r"[-+=]|\d{1,9}[.)](?= |\Z)")


def guard_line(line):
    m = _GUARD.match(line)
    if not m:
        return line
    g = m.group(0)
    if g[0] in "-+=":
        return "\\" + line
    return line[:len(g) - 1] + "\\" + line[len(g) - 1:]


def paragraph_md(text, rng):
    """Markdown lines for a summary paragraph: escaped, sometimes decorated, sometimes
    soft-wrapped (over two lines, or filled to a width); each line start guarded."""
    toks = decorate(esc(text, rng).split(" "), rng, 0.15)
    r = rng.random()
    lines = None
    if r < 0.2 and len(toks) > 3:
        # Prefer breaking before a token that would open a block at a line start.
        risky = [i for i in range(1, len(toks)) if _GUARD.match(toks[i])]
        cut = rng.choice(risky) if risky and rng.random() < 0.6 else rng.randrange(1, len(toks))
        lines = [" ".join(toks[:cut]), " ".join(toks[cut:])]
    elif r < 0.27 and len(toks) > 3:
        width = rng.randint(60, 100)
        lines, cur = [], []
        n = 0
        for t in toks:
            if cur and n + len(t) > width:
                lines.append(" ".join(cur))
                cur, n = [], 0
            cur.append(t)
            n += len(t) + 1
        lines.append(" ".join(cur))
    else:
        lines = [" ".join(toks)]
    return "\n".join(guard_line(l) for l in lines)


def numbering(count, rng, repeat_last=False):
    """List numbers: usually 1..count; sometimes a number repeats (like the seed)."""
    nums = []
    n = 0
    for i in range(count):
        if i == 0 or not (rng.random() < 0.06 or (repeat_last and i == count - 1)):
            n += 1
        nums.append(n)
    return nums


# ---------------------------------------------------------------------------------------
# URLs
# ---------------------------------------------------------------------------------------

def domain_of(host):
    """Model of sources.domain for a URL with this host text ("" = no host)."""
    if not host:
        return None
    h = host.lower()
    if ":" in h:
        h = h.split(":", 1)[0]
    if h.startswith("www."):
        h = h[4:]
    return h


def source_url(host, rng):
    """(url, host-as-written) for a news article.  host '' -> URL without a host."""
    if rng.random() < 0.02:
        return rng.choice(NO_HOST_URLS), ""
    r = rng.random()
    if r < 0.04:
        host = host.upper()
    elif r < 0.07:
        host = ".".join(p.capitalize() for p in host.split("."))
    if rng.random() < 0.015:
        host += rng.choice((":8080", ":8000", ":443"))
    words = "-".join(rng.choice(PATH_WORDS) for _ in range(rng.randint(3, 9)))
    y = rng.randint(2001, 2024)
    shape = rng.randrange(4)
    if shape == 0:
        path = "/news/%s/%d/%02d/%s-%d.html" % (rng.choice(PATH_WORDS), y,
                                                 rng.randint(1, 12), words, rng.randint(1000, 99999999))
    elif shape == 1:
        path = "/%s/%s/article%d.ece" % (rng.choice(PATH_WORDS), words, rng.randint(10000, 9999999))
    elif shape == 2:
        path = "/NewsContent/1/64/%d/%s/%s.aspx" % (rng.randint(1000, 999999),
                                                    rng.choice(PATH_WORDS).capitalize(), words)
    else:
        path = "/%d/%s?id=%d&src=rss" % (y, words, rng.randint(1, 99999))
    scheme = "https" if rng.random() < 0.5 else "http"
    return "%s://%s%s" % (scheme, host, path), host


def cover_url(rng):
    host = rng.choice(COVER_HOSTS)
    return "http%s://%s/multimedia/archive/%05d/%s_%dk.jpg" % (
        "s" if rng.random() < 0.5 else "", host, rng.randint(1, 99999),
        "-".join(rng.choice(PATH_WORDS).capitalize() for _ in range(rng.randint(1, 4))),
        rng.randint(100000, 9999999))


# ---------------------------------------------------------------------------------------
# Dates and folders
# ---------------------------------------------------------------------------------------

def folder_for(d, style):
    """Day folder spelled in one of the styles: 'pad' 2014/02/03, 'nopad' 2014/2/3,
    'mpad' 2014/02/3, 'dpad' 2014/2/03."""
    m = "%02d" % d.month if style in ("pad", "mpad") else str(d.month)
    dd = "%02d" % d.day if style in ("pad", "dpad") else str(d.day)
    return "/news/%d/%s/%s" % (d.year, m, dd)


def pick_style(d, rng):
    r = rng.random()
    if r < 0.04:
        return rng.choice(("mpad", "dpad"))
    padded = rng.random() < (0.85 if d.year < 2017 else 0.15)
    return "pad" if padded else "nopad"


def fmt_ts(t):
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t))


# ---------------------------------------------------------------------------------------
# The plan: every event file's path, date, title and version group
# ---------------------------------------------------------------------------------------

class Group:
    """Versions of one event: files (plan indices, oldest first) and their timestamps."""
    __slots__ = ("files", "times", "has_changes")

    def __init__(self):
        self.files, self.times, self.has_changes = [], [], True


class FileModel:
    """One event file: root-relative path, path date (heading date for drafts), model
    title, kind ('event', 'draft', 'notitle', 'mismatch'), its Group and version index."""
    __slots__ = ("path", "date", "title", "kind", "group", "vidx")

    def __init__(self, path, date, title, kind, group, vidx):
        self.path, self.date, self.title, self.kind = path, date, title, kind
        self.group, self.vidx = group, vidx


def make_plan(n_files, rng):
    """Lay out n_files event files.  Returns (files, folders, by_date): files is the list
    of FileModel (versions of a group are consecutive, oldest first), folders maps a day
    folder ('/news/2014/02/13') to [date, [plan indices]], by_date maps a date to its
    day folder."""
    span = (SPAN_END - SPAN_START).days + 1
    n_days = min(span, max(1, -(-n_files // 4)))
    day_ords = sorted(rng.sample(range(span), n_days))
    days = []          # (date, folder)
    folders = {}       # folder -> [date, [file indices]]
    by_date = {}       # date -> folder (one folder per date)
    for o in day_ords:
        d = SPAN_START + datetime.timedelta(days=o)
        f = folder_for(d, pick_style(d, rng))
        days.append((d, f))
        folders[f] = [d, []]
        by_date[d] = f

    def share(p):
        return max(1 if n_files >= 20 else 0, round(n_files * p))
    n_drafts = share(0.005)
    n_notitle = share(0.0015)
    n_mismatch = share(0.0015)
    n_regular = max(0, n_files - n_drafts - n_notitle - n_mismatch)
    if n_regular == 0:      # tiny corpus: regular files only
        n_drafts = n_notitle = n_mismatch = 0
        n_regular = n_files

    files = []
    used = {}           # folder -> set of slugs taken (membership tests only)

    def unique(folder, slug):
        s = used.setdefault(folder, set())
        base, k = slug, 2
        while slug in s or slug == "index":
            slug = "%s-%d" % (base, k)
            k += 1
        s.add(slug)
        return slug

    def add_group(kind, k, folder, d):
        g = Group()
        title = make_title(rng)
        titles = [title]
        for _ in range(k - 1):
            titles.append(version_title(titles[-1], rng))
        titles.reverse()                          # oldest first
        keep_u = rng.random() < 0.3
        t = calendar.timegm(d.timetuple()) + rng.randint(3600, 3 * 86400)
        t = max(t, HISTORY_START + rng.randint(0, 400 * 86400))
        for v in range(k):
            slug = unique(folder, slugify(titles[v], keep_u))
            idx = len(files)
            files.append(FileModel("%s/%s.md" % (folder, slug), d, titles[v], kind, g, v))
            g.files.append(idx)
            g.times.append(t)
            t += rng.randint(600, 5 * 86400)
            if folder in folders:
                folders[folder][1].append(idx)
        if k == 1 and (kind != "event" or rng.random() < 0.3):
            g.has_changes = kind == "draft" and rng.random() < 0.5
        return g

    left = n_regular
    while left > 0:
        r = rng.random()
        k = 1 if r < 0.80 else 2 if r < 0.92 else 3 if r < 0.98 else 4
        k = min(k, left)
        d, f = rng.choice(days)
        add_group("event", k, f, d)
        left -= k
    for _ in range(n_drafts):
        d = SPAN_START + datetime.timedelta(days=rng.randrange(span))
        add_group("draft", 1, "/drafts", d)
    for kind, n in (("notitle", n_notitle), ("mismatch", n_mismatch)):
        for _ in range(n):
            d, f = rng.choice(days)
            add_group(kind, 1, f, d)
    return files, folders, by_date


# ---------------------------------------------------------------------------------------
# Expected rows (SQL)
# ---------------------------------------------------------------------------------------

TABLES = {
    "exp_events": "path TEXT, date TEXT, title TEXT, summary TEXT, cover_image TEXT, "
                  "day_index TEXT, is_current INT, n_sources INT, n_related INT, "
                  "n_changes INT, size INT, mtime INT, problem TEXT",
    "exp_sources": "event_path TEXT, ordinal INT, name TEXT, url TEXT, domain TEXT",
    "exp_related": "event_path TEXT, ordinal INT, title TEXT, target TEXT, "
                   "target_date TEXT, context TEXT",
    "exp_changes": "event_path TEXT, ordinal INT, title TEXT, target TEXT, "
                   "changed_at TEXT, label TEXT, is_current INT",
}


def sql_lit(v):
    if v is None:
        return "NULL"
    if isinstance(v, int):
        return str(v)
    return "'" + v.replace("'", "''") + "'"


class SqlOut:
    """Streams multi-row INSERTs (BATCH rows per statement) inside one transaction."""
    BATCH = 500

    def __init__(self, path):
        self.f = open(path, "w", encoding="utf-8", newline="\n")
        self.buf = {t: [] for t in TABLES}
        self.f.write("BEGIN;\n")
        for t, cols in TABLES.items():
            self.f.write("DROP TABLE IF EXISTS %s;\nCREATE TABLE %s(%s);\n" % (t, t, cols))

    def add(self, table, *values):
        b = self.buf[table]
        b.append("(" + ",".join(map(sql_lit, values)) + ")")
        if len(b) >= self.BATCH:
            self.flush(table)

    def flush(self, table):
        b = self.buf[table]
        if b:
            self.f.write("INSERT INTO %s VALUES\n%s;\n" % (table, ",\n".join(b)))
            b.clear()

    def close(self):
        for t in TABLES:
            self.flush(t)
        self.f.write("COMMIT;\n")
        self.f.close()


# ---------------------------------------------------------------------------------------
# Writing event files
# ---------------------------------------------------------------------------------------

SOURCE_HEADINGS = (["### Source:"] * 12 + ["### Sources"] * 3 + ["### Sources:"] * 2
                   + ["### Source", "## Sources:", "### SOURCE:"])
RELATED_HEADINGS = ["### Related:"] * 15 + ["### Related"] * 3 + ["## Related:", "### RELATED"]
CHANGES_HEADINGS = ["### Changes:"] * 16 + ["### Changes"] * 2 + ["## Changes:", "### CHANGES:"]


class Writer:
    """Writes the event files group by group (all versions of an event share one body:
    summary, sources, related) and streams each file's expected rows to the SqlOut.
    Every value that goes into a row is chosen here or in the plan; the markdown is
    produced from those values, never read back."""

    def __init__(self, root, files, folders, by_date, sql, rng):
        self.root, self.files, self.folders, self.by_date = root, files, folders, by_date
        self.sql, self.rng = sql, rng
        # Related targets: newest versions of titled events (incl. drafts).
        self.targets = [i for i, f in enumerate(files)
                        if f.vidx == len(f.group.files) - 1 and f.kind in ("event", "draft")]
        self.paths = set(f.path for f in files)
        self.sizes = []

    # -- body shared by all versions of a group ------------------------------------------

    def make_body(self, gfiles):
        rng = self.rng
        body = {}
        r = rng.random()
        n_par = 0 if r < 0.15 else 1 if r < 0.70 else 2 if r < 0.92 else 3
        body["paras"] = [make_paragraph(rng) for _ in range(n_par)]
        # Sources: list of (name, url, domain) and cover images (text, url) with positions.
        if rng.random() < 0.02:
            body["sources"] = None                      # no Source section at all
        else:
            n_src = 0 if rng.random() < 0.01 else rng.randint(2, 6)
            srcs = []
            for _ in range(n_src):
                name, host = rng.choice(OUTLETS)
                url, h = source_url(host, rng)
                srcs.append((name, url, domain_of(h)))
            covers = []
            if rng.random() < 0.8 or n_src == 0:
                covers.append((rng.choice(COVER_TEXTS), cover_url(rng)))
                if rng.random() < 0.02:
                    covers.append((rng.choice(COVER_TEXTS), cover_url(rng)))
            # Item order: sources with the cover(s) usually last, sometimes inside.
            items = [("s", s) for s in srcs]
            for c in covers:
                pos = len(items) if rng.random() < 0.85 else rng.randint(0, len(items))
                items.insert(pos, ("c", c))
            body["sources"] = items
            body["src_heading"] = rng.choice(SOURCE_HEADINGS)
        # Related.
        n_rel = rng.choice((0, 0, 1, 2, 3, 3, 4, 5, 5, 6, 6))
        own = set(self.files[i].path for i in gfiles)
        rel = []
        for _ in range(n_rel):
            rel.append(self.related_item(own))
        body["related"] = rel
        body["rel_empty_heading"] = n_rel == 0 and rng.random() < 0.05
        body["rel_heading"] = rng.choice(RELATED_HEADINGS)
        body["chg_heading"] = rng.choice(CHANGES_HEADINGS)
        return body

    def related_item(self, own):
        """(title, target, target_date, context) of one related item."""
        rng = self.rng
        r = rng.random()
        title = target = tdate = None
        if r < 0.65 and self.targets:
            for _ in range(4):
                f = self.files[rng.choice(self.targets)]
                if f.path not in own:
                    title, target = f.title, f.path
                    tdate = None if f.kind == "draft" else f.date.isoformat()
                    break
        if target is None:
            title = make_title(rng)
            slug = slugify(title, rng.random() < 0.3)
            r = rng.random()
            if r < 0.75:   # dangling, dated
                span = (SPAN_END - SPAN_START).days
                d = SPAN_START + datetime.timedelta(days=rng.randrange(span))
                folder = self.by_date.get(d) or folder_for(d, pick_style(d, rng))
                target = "%s/%s-%d.md" % (folder, slug[:120].rstrip("-"), rng.randint(2, 9))
                tdate = d.isoformat()
            elif r < 0.85:
                target = "/news/topics/%s.md" % slug
            elif r < 0.95:
                target = "/news/%d/%02d/%s.md" % (rng.randint(2001, 2024), rng.randint(1, 12), slug)
            else:
                target = "/drafts/%s-old.md" % slug
            if target in self.paths:     # practically impossible; keep the model exact
                target = target[:-3] + "-x.md"
        ctx = make_context(rng) if rng.random() < 0.9 else None
        return (title, target, tdate, ctx)

    # -- one file -------------------------------------------------------------------------

    def write_group(self, g):
        body = self.make_body(g.files)
        for v, idx in enumerate(g.files):
            self.write_file(self.files[idx], g, v, body)

    def write_file(self, fm, g, v, body):
        """Write version v of group g (file model fm) and add its rows."""
        rng, sql = self.rng, self.sql
        path = fm.path
        newest = v == len(g.files) - 1
        out = []
        problem = None
        # Date heading.
        hdate = fm.date
        if fm.kind == "mismatch":
            hdate = fm.date + datetime.timedelta(days=rng.choice((-3, -2, -1, 1, 2, 3)))
            problem = "date heading %s differs from path" % hdate.isoformat()
        hfolder = self.by_date.get(hdate) or folder_for(hdate, pick_style(hdate, rng))
        day_index = hfolder + "/index.md"
        out.append("### [%s](%s)\n\n" % (hdate.isoformat(), day_index))
        # Title and summary.
        if fm.kind == "notitle":
            title = summary = None
            problem = "no title"
        else:
            title = fm.title
            out.append("# %s\n\n" % inline(title, rng, 0.05))
            paras = body["paras"]
            if not newest and len(paras) > 1 and rng.random() < 0.5:
                paras = paras[:1]
            for p in paras:
                out.append(paragraph_md(p, rng))
                out.append("\n\n")
            summary = "\n\n".join(paras) if paras else None
        out.append("\n")
        # Sources.
        cover = None
        n_src = 0
        items = body["sources"]
        if items is not None:
            out.append(body["src_heading"] + ("\n\n" if rng.random() < 0.9 else "\n"))
            # Like the seed, a trailing Cover Image item often repeats the previous number.
            cover_last = items[-1][0] == "c" and rng.random() < 0.5
            nums = numbering(len(items), rng, repeat_last=cover_last)
            for num, (typ, it) in zip(nums, items):
                if typ == "c":
                    out.append("%d. [%s](%s)\n" % (num, it[0], it[1]))
                    if cover is None:
                        cover = it[1]
                else:
                    name, url, dom = it
                    n_src += 1
                    pad = rng.random() < 0.02
                    out.append("%d. [%s%s%s](%s)\n" % (num, " " if pad else "", inline(name, rng),
                                                       " " if pad else "", url))
                    sql.add("exp_sources", path, n_src, name, url, dom)
            out.append("\n")
        # Related (older versions may know fewer related events).
        rel = body["related"]
        if not newest and rel and rng.random() < 0.4:
            rel = rel[:rng.randrange(len(rel))]
        if rel or body["rel_empty_heading"]:
            out.append(body["rel_heading"] + "\n\n")
            for num, (rt, target, tdate, ctx) in zip(numbering(len(rel), rng), rel):
                r = rng.random()
                pre, post = (" ", " ") if r < 0.3 else ("", " ") if r < 0.6 else ("", "")
                line = "%d. [%s%s%s](%s)" % (num, pre, inline(rt, rng, 0.03), post, target)
                if ctx is not None:
                    line += " _Context: %s_" % inline(ctx, rng)
                out.append(line + "\n")
            for o, (rt, target, tdate, ctx) in enumerate(rel, 1):
                sql.add("exp_related", path, o, rt, target, tdate, ctx)
            out.append("\n")
        # Changes: the full version history, the newest version being current.
        n_chg = 0
        is_current = 1
        if g.has_changes:
            out.append(body["chg_heading"] + "\n\n")
            k = len(g.files)
            cur_path = self.files[g.files[-1]].path
            is_current = 1 if cur_path == path else 0
            for o, num in enumerate(numbering(k, rng), 1):
                vf = self.files[g.files[o - 1]]
                if o < k:
                    label = "First version" if o == 1 else "Update"
                    at = fmt_ts(g.times[o - 1])
                    ann = "%s (%s)" % (at, label)
                else:
                    label, at, ann = "Current version", None, "(Current version)"
                out.append("%d. [%s](%s) _%s_\n" % (num, inline(vf.title, rng, 0.03), vf.path, ann))
                sql.add("exp_changes", path, o, vf.title, vf.path, at, label,
                        1 if label == "Current version" else 0)
            n_chg = k
            out.append("\n")
        text = "".join(out).rstrip("\n") + "\n"
        if rng.random() < 0.03:
            text = text.replace("\n", "\r\n")
        data = text.encode("utf-8")
        mtime = g.times[v]
        full = self.root + path
        with open(full, "wb") as fh:
            fh.write(data)
        os.utime(full, (mtime, mtime))
        self.sizes.append(len(data))
        sql.add("exp_events", path, fm.date.isoformat(), title, summary, cover, day_index,
                is_current, n_src, len(rel), n_chg, len(data), mtime, problem)


# ---------------------------------------------------------------------------------------
# Non-event files
# ---------------------------------------------------------------------------------------

EXTRA_MTIME = calendar.timegm((2025, 1, 1, 0, 0, 0))   # mtime of every non-event file


def write_bytes(full, data):
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "wb") as fh:
        fh.write(data)
    os.utime(full, (EXTRA_MTIME, EXTRA_MTIME))


def write_text(full, text):
    write_bytes(full, text.encode("utf-8"))


def event_like(rng):
    """A valid-looking event file for places that must be skipped (dot names)."""
    d = SPAN_START + datetime.timedelta(days=rng.randrange(8000))
    return ("### [%s](%s/index.md)\n\n# %s\n\n### Source:\n\n1. [Reuters](https://www.reuters.com/x)\n"
            % (d.isoformat(), folder_for(d, "pad"), inline(make_title(rng), rng)))


def write_extras(root, files, folders, rng):
    """Day index pages and the non-event files that must not produce rows."""
    for folder, (d, idxs) in folders.items():
        if not idxs:
            continue
        lines = ["### %s\n\n" % d.isoformat()]
        for n, i in enumerate(idxs, 1):
            lines.append("%d. [%s](%s)\n" % (n, inline(files[i].title, rng), files[i].path))
        write_text(root + folder + "/index.md", "".join(lines))
    used = [f for f, (d, idxs) in folders.items() if idxs]
    # Per-day clutter: dot files, notes, images (each kind at least once).
    for kind in ("draft", "notes", "jpg"):
        picks = [f for f in used if rng.random() < 0.02] or used[:1]
        for f in picks:
            if kind == "draft":
                write_text(root + f + "/.draft.md", event_like(rng))
            elif kind == "notes":
                write_text(root + f + "/notes.txt", "Check sources again.\n1. [x](/y.md)\n")
            else:
                write_bytes(root + f + "/cover.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
                            + bytes(rng.randrange(256) for _ in range(64)))
    # Root-level non-events.
    write_text(root + "/index.md", "# News archive\n\n1. [News](/news/index.md)\n")
    write_text(root + "/news/index.md", "# News\n")
    write_text(root + "/notes.txt", "Archive notes.\n")
    write_text(root + "/.git/HEAD", "ref: refs/heads/main\n")
    write_text(root + "/.git/objects/info/packed.md", event_like(rng))
    write_text(root + "/.git/hooks/README.md", event_like(rng))
    write_text(root + "/news/.trash/2015/01/01/deleted-event.md", event_like(rng))
    write_text(root + "/news/2014/.hidden/old.md", event_like(rng))


# ---------------------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description="Generate an eventmd test archive and its expected rows.")
    ap.add_argument("--out", required=True, help="output folder (archive/ and expected.sql go here)")
    ap.add_argument("--files", type=int, required=True, help="number of event files")
    ap.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    args = ap.parse_args(argv)
    if args.files < 0:
        ap.error("--files must be >= 0")
    root = os.path.join(os.path.abspath(args.out), "archive")
    if os.path.exists(root) and os.listdir(root):
        ap.error("%s exists and is not empty; remove it first" % root)
    os.makedirs(root, exist_ok=True)

    t0 = time.time()
    rng = random.Random(args.seed)
    files, folders, by_date = make_plan(args.files, rng)
    for f in set(os.path.dirname(root + fm.path) for fm in files):
        os.makedirs(f, exist_ok=True)
    sql = SqlOut(os.path.join(os.path.abspath(args.out), "expected.sql"))
    w = Writer(root, files, folders, by_date, sql, random.Random(args.seed * 7919 + 1))
    seen = set()
    for fm in files:
        g = fm.group
        if id(g) not in seen:
            seen.add(id(g))
            w.write_group(g)
    sql.close()
    write_extras(root, files, folders, random.Random(args.seed * 104729 + 2))
    sizes = sorted(w.sizes) or [0]
    print("gen_corpus: %d event files in %d day folders, median size %d B, %.1fs -> %s"
          % (len(files), sum(1 for v in folders.values() if v[1]), sizes[len(sizes) // 2],
             time.time() - t0, args.out), file=sys.stderr)


if __name__ == "__main__":
    main()
