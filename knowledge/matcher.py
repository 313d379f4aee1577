"""Understand what a student wrote: normalise it, then score every topic.

Students write without accents, with typos, abbreviations, stretched letters,
emojis and English words. Normalisation folds all that into one plain
vocabulary (the knowledge base's own words), then two signals score each
topic: the staff's keywords (strong ones nearly decide, weak ones support)
and the TF-IDF similarity to the example phrasings. Everything is data from
the knowledge base; nothing here names a topic except the social ones.
"""
from __future__ import annotations

import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import lru_cache

from rapidfuzz import fuzz, process

from knowledge.loader import KnownAnswer, Lexicon, Topic

STRONG = 3.0
WEAK = 1.0
#: What each further strong cue adds (two at most), and the most weak cues add.
EXTRA_STRONG = 1.0
WEAK_CAP = 2.0
#: How far the next word of a keyword phrase may be: (1,) contiguous, (1, 2) one word of slack.
GAPS = (1,)
SIMILARITY = 3.0
#: Greetings and goodbyes yield to any substantive topic found beside them.
SOCIAL = frozenset({"saludo", "despedida"})
#: Words that open a message leading on from the answer before it ("y", "osea", "ok, y…",
#: English "and"), after normalisation: a follow-up read as a whole message skips them.
LEADS_ON = frozenset({"y", "e", "osea", "entonces", "pero", "ok", "okey", "va", "ah", "oye", "bueno", "ya",
                      "listo", "so", "then"})
#: A substantive topic needs this score to beat a greeting or goodbye.
SUBSTANTIVE = 2.0
#: Below this, the bot is not sure and asks instead of answering.
CONFIDENT = 1.6
#: A message longer than LONG words is a run-on; its last TAIL words count twice.
LONG = 60
TAIL = 30
#: Words that say a message is about the insurance even when no topic fits.
DOMAIN_STEMS = (
    "segur", "imss", "nss", "curp", "vigen", "solic", "facul", "clini", "umf", "cia",
    "const", "afili", "derec", "medic", "trami", "issst", "consu", "cubre", "cobert",
    "formu", "alta", "patron", "asegur", "guard",
)
#: The stems only this insurance's messages have (the others above are words of any procedure:
#: "trámite", "constancia", "alta").
SPECIFIC_STEMS = ("segur", "imss", "nss", "curp", "vigen", "facul", "clini", "umf", "cia", "issst", "cobert", "solic",
                  "asegur", "patron", "afili", "cubre", "derec", "medic")
#: A message with this many content words besides greetings is not a greeting.
MANY_WORDS = 4
#: "hola, soy estudiante de intercambio en ITSON Obregón": after a greeting, who is writing (a
#: self-introduction naming the university), not a question about something else.
_SELF_INTRO = frozenset({"soy", "estoy", "somos", "me", "mi", "im", "i", "my", "m"})

_ASKING = r"(?:donde|dnd|adonde|como|cmo|cuando|cuanto|cuantos|cual|cuales|quien)"
_ASKING_EN = r"(?:where|how|when|what|which)"
#: Where one question ends and another starts in a message.
#: "y si me llego a equivocar, ¿se puede corregir?": a case asked about, not one reported
#: (flows.waiting reads "¿y si me sale otro patrón?" with it too).
WHAT_IF = re.compile(r"(?:y |pero |oye )?(?:si|que pasa si|q pasa si|que hago si|q hago si|en caso de)\b")
#: "¿… y a qué número hablo si no me deja?": a failure supposed inside a question, not reported.
_IF_IT_FAILS = re.compile(r"\bsi no (?:me deja|me dejan|puedo|pude|me sale|sale|aparece|me aparece|funciona)\b")
# A change of mind inside one message ("…como me doy de alta en la clinica... no espera, primero
# como se si ya estoy activo"): what follows the correction is the question.
MIN_BEFORE_CHANGE = 3  # words before a correction for it to be one (not "no, mejor…" opening)
_CHANGE_OF_MIND = re.compile(
    r"(?:^|[\s,.;:!?…])(?:no+[\s,.]+(?:espera|esperate|aguanta|mejor dicho|mejor|perdon|primero|mas bien|olvidalo)"
    r"|mejor dicho|(?:ah|bueno|perdon)[\s,]+no(?=[,.;:!…]))\b[\s,.;:!…]*")
_CLAUSE = re.compile(
    r"[?!.;\n]+|\by (?=tmb\b|tambien\b|oye\b|otra\b|ademas\b)|\botra pregunta\b|\botra cosa\b"
    # "…y dónde lo tramito?", "…y cómo checo que ya quedó?": a second question
    r"|\b(?:y|e) (?=(?:luego |despues |ya )?(?:en |a |de )?(?:" + _ASKING + r"|que|q|k)\b)"
    # "where do i find my nss and how long does it take": the same in English
    r"|\band (?=(?:" + _ASKING_EN + r"|who|can|do|does|is)\b)"
)
#: "donde hago la solicitud, cuanto tarda y…": a comma before a question word may start another
#: question (:func:`_questions`).
_COMMA = re.compile(r",\s*(?=(?:y |e |and )?(?:luego |despues |ya )?(?:en |a |de )?(?:" + _ASKING
                    + "|" + _ASKING_EN + r")\b)")
#: At most this many further questions of one message are answered besides the first.
MAX_ALSO = 3
READ = 4000
_NON_WORD = re.compile(r"[^a-z0-9*]+")
_TRIPLE = re.compile(r"([a-z])\1{2,}")
# Letters Spanish doubles legitimately (ll, rr, cc, ee, nn, oo) are kept doubled.
_DOUBLE = re.compile(r"([abdfghijkmpqstuvwxyz])\1")


def fold(text: str) -> str:
    """Lower case without accents; ñ becomes n, emojis and symbols go.

    Invisible format characters (category Cf: zero-width spaces and joiners,
    bidi marks, soft hyphens) are dropped, as the entity extractor does:
    copy-paste and keyboards put them inside words ("requi\u200dsitos").
    """
    if text.isascii():  # most messages: nothing to decompose or drop (and str.lower is casefold here)
        return text.lower()
    return _fold_unicode(text)


@lru_cache(maxsize=1024)
def _fold_unicode(text: str) -> str:
    """:func:`fold` of a text with accents or emojis: one step folds the same text many times."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c) and unicodedata.category(c) != "Cf")
    return plain.casefold()


#: What a keyword's word matches, ready to test: a word ending in "*" matches any word it
#: prefixes ("equivoc*": a ``str``, the prefix), another word itself and, past three letters,
#: its plurals ("derecho": the ``frozenset`` {"derecho", "derechos", "derechoes"}).
Form = str | frozenset[str]


@lru_cache(maxsize=None)
def forms(parts: tuple[str, ...]) -> tuple[Form, ...]:
    """The forms of a phrase's parts, built once a phrase: matching tests a word against these
    thousands of times a message, where a function call each (the test as code) was a fifth of a step."""
    return tuple(part[:-1] if part.endswith("*")
                 else frozenset({part, part + "s", part + "es"} if len(part) > 3 else {part})
                 for part in parts)


def phrase_end(phrase: tuple[Form, ...], words: list[str], start: int) -> int | None:
    """Where the phrase of these forms, its first word at ``start``, ends (its last word's index), or None.

    Students put fillers inside set phrases ("sin tener derecho"); ``GAPS``
    says how far the next word may be (now: right after).
    """
    form = phrase[0]
    word = words[start]
    if not (word.startswith(form) if form.__class__ is str else word in form):  # type: ignore[arg-type]
        return None
    pos, n = start, len(words)
    for form in phrase[1:]:
        for gap in GAPS:
            j = pos + gap
            if j < n:
                word = words[j]
                if word.startswith(form) if form.__class__ is str else word in form:  # type: ignore[arg-type]
                    pos = j
                    break
        else:
            return None
    return pos


def stem(token: str) -> str:
    """A crude Spanish stem: the first five letters (vigencia ~ vigente)."""
    return token[:5] if len(token) > 5 and not token.isdigit() else token


@dataclass
class Match:
    """What the matcher understood of one message."""

    topic: str | None
    score: float
    ranked: list[tuple[str, float]]
    tokens: list[str]
    confident: bool
    domain: bool
    keyword_scores: dict[str, float] = field(default_factory=dict)
    #: Every answer topic asked besides ``topic``, in the order asked:
    #: "¿dónde la hago, cuánto tarda y cómo me doy de alta?" is three questions.
    also: tuple[str, ...] = ()

    @classmethod
    def certain(cls, topic: str) -> Match:
        """A match of ``topic`` beyond doubt: what the student chose from a menu, or what the
        conversation already established (a follow-up's next topic), answered as if asked outright."""
        return cls(topic, 9.0, [(topic, 9.0)], [topic], confident=True, domain=True)

    @property
    def secondary(self) -> str | None:
        """The second question's topic, if any."""
        return self.also[0] if self.also else None

    @property
    def empty(self) -> bool:
        """Nothing to understand: only emojis, punctuation or blanks."""
        return not self.tokens

    def candidates(self, n: int = 3) -> list[str]:
        """The ``n`` likeliest substantive topics, for a clarifying question."""
        out = [t for t, s in self.ranked if s > 0 and t not in SOCIAL and t != "fuera_de_tema"]
        return out[:n]


@dataclass(frozen=True)
class _Keyword:
    topic: str
    parts: tuple[str, ...]  # a part ending in "*" is a prefix
    weight: float
    announces: bool = False  # a strong cue that may open a message, like a greeting (``Topic.announces``)
    alone: bool = False  # a strong cue only as the whole message (``Topic.alone``)
    phrase: tuple[Form, ...] = field(init=False, repr=False, compare=False)  # the parts' forms

    def __post_init__(self) -> None:
        object.__setattr__(self, "phrase", forms(self.parts))


def _questions(clause: str) -> list[str]:
    """A clause cut at its commas where a question follows a question ("donde hago la solicitud,
    cuanto tarda"); news before a question stays with it ("ya hice la solicitud, cuanto tarda?")."""
    parts = _COMMA.split(clause)
    if len(parts) == 1:
        return parts
    out: list[str] = []
    for part in parts:
        if out and _ASKS.search(out[-1]):
            out.append(part)
        elif out:
            out[-1] += ", " + part
        else:
            out.append(part)
    return out


def _asked_after_news(clause: str) -> str | None:
    """The question a clause ends with after a comma, when news comes first (see :func:`_questions`)."""
    parts = _COMMA.split(clause)
    return parts[-1] if len(parts) > 1 and not _ASKS.search(parts[0]) else None


_ASKS = re.compile(r"\b" + _ASKING + r"\b|\b(?:que|q|k) (?:es|son|hago|necesito|ocupo|tengo)\b"
                   r"|^\s*(?:y |e )?(?:que|q|k)\b|\b" + _ASKING_EN + r"\b")


class Matcher:
    """Scores text against the topics of one knowledge base."""

    def __init__(self, topics: Iterable[Topic], lexicon: Lexicon) -> None:
        self.topics = {t.id: t for t in topics}
        self.lexicon = lexicon
        self._synonyms = self._compile_synonyms(lexicon.synonyms)
        self._phrases = self._compile_synonyms(lexicon.phrases)
        self._third_person = self._compile_synonyms(lexicon.third_person)
        self._known: dict[str, list[tuple[tuple[str, ...], KnownAnswer]]] = {}
        self._follow_ups: dict[str, list[tuple[tuple[str, ...], KnownAnswer]]] = {}
        self.vocabulary: set[str] = set()
        for topic in self.topics.values():
            for text in (*topic.examples, *topic.strong, *topic.weak, *topic.announces, *topic.alone):
                self.vocabulary.update(self._basic_tokens(text))
        for value in (*lexicon.abbreviations.values(), *lexicon.synonyms.values(), *lexicon.synonyms,
                      *lexicon.third_person.values()):
            self.vocabulary.update(_NON_WORD.split(value))
        self.vocabulary = {w for w in self.vocabulary if w and "*" not in w}
        self._vocab_list = sorted(w for w in self.vocabulary if len(w) >= 4 and not w.isdigit())
        self._correct = lru_cache(maxsize=20000)(self._correct_uncached)
        self.keywords = self._compile_keywords()
        self._index_keywords()
        self._social_words = frozenset(
            part.rstrip("*") for kw in self.keywords if kw.topic in SOCIAL for part in kw.parts
        )
        self._build_index()

    # --- normalisation -------------------------------------------------------------

    @staticmethod
    def _compile_synonyms(synonyms: dict[str, str]) -> tuple[re.Pattern[str] | None, dict[str, str]]:
        table = {" ".join(_NON_WORD.split(fold(k))).strip(): v for k, v in synonyms.items()}
        table = {k: v for k, v in table.items() if k}
        if not table:
            return None, {}
        alternatives = "|".join(re.escape(k) for k in sorted(table, key=len, reverse=True))
        return re.compile(rf"(?<![a-z0-9])(?:{alternatives})(?![a-z0-9])"), table

    def _basic_tokens(self, text: str) -> list[str]:
        """Fold and split, expanding abbreviations; no spelling correction."""
        out: list[str] = []
        for raw in _NON_WORD.split(fold(text)):
            if not raw:
                continue
            out.extend(self._expand(raw))
        return out

    def _expand(self, token: str) -> list[str]:
        abbreviations = self.lexicon.abbreviations
        if token in abbreviations:
            return abbreviations[token].split()
        return [token]

    def _correct_uncached(self, token: str) -> str:
        """Map an unknown word to the knowledge base's spelling of it."""
        if token in self.vocabulary or token.isdigit() or any(c.isdigit() for c in token):
            return token
        if token in self.lexicon.known:
            # A real word is not a typo of a similar one ("maria" is not "marina", "recuerdo" is
            # not "recupero", "color" is not "dolor"): only unknown words are corrected.
            return token
        abbreviations = self.lexicon.abbreviations
        squeezed = _TRIPLE.sub(r"\1", token)
        for candidate in (squeezed, _DOUBLE.sub(r"\1", squeezed)):
            if candidate in self.vocabulary or candidate in abbreviations:
                return abbreviations.get(candidate, candidate)
        candidate = _DOUBLE.sub(r"\1", squeezed)
        if len(candidate) < 5:
            return candidate
        found = process.extractOne(
            candidate, self._vocab_list, scorer=fuzz.ratio, score_cutoff=80,
            processor=None,
        )
        # A typo keeps the length within a letter ("nesecito", "solicitu"); a longer
        # gap is another word ("inconsistentes" is not "inconsciente").
        if found and abs(len(found[0]) - len(candidate)) <= 1:
            return found[0]
        return candidate

    def tokens(self, text: str) -> list[str]:
        """The student's words in the knowledge base's vocabulary."""
        words: list[str] = []
        folded = " " + " ".join(_NON_WORD.split(fold(text[:READ]))) + " "
        if self._phrases[0] is not None:
            # Whole expressions first ("how long" → "cuanto tiempo"), before their
            # words are expanded one by one ("how" → "como").
            folded = self._phrases[0].sub(lambda m: f" {self._phrases[1][m.group(0)]} ", folded)
        if self._third_person[0] is not None:
            # "¿cómo la llena?", "no le deja": what a parent tells of the student, read as the
            # student tells it ("como la lleno", "no me deja"); the keywords are read the same way.
            folded = self._third_person[0].sub(lambda m: f" {self._third_person[1][m.group(0)]} ", folded)
        for raw in _NON_WORD.split(folded):
            if not raw or raw == "*":
                continue
            raw = raw.replace("*", "")
            if not raw:
                continue
            for piece in self._expand(raw):
                if piece in self.lexicon.ignore:
                    continue
                fixed = self._correct(piece)
                words.extend(self._expand(fixed) if fixed != piece else [fixed])
        pattern, table = self._synonyms
        if pattern is None or not words:
            return words
        joined = pattern.sub(lambda m: table[m.group(0)], " ".join(words))
        return joined.split()

    def normalise(self, text: str) -> str:
        return " ".join(self.tokens(text))

    # --- keywords and examples -----------------------------------------------------

    def _compile_keywords(self) -> list[_Keyword]:
        compiled: list[_Keyword] = []
        for topic in self.topics.values():
            for weight, items, announces, alone in ((STRONG, topic.strong, False, False),
                                                    (WEAK, topic.weak, False, False),
                                                    (STRONG, topic.announces, True, False),
                                                    (STRONG, topic.alone, False, True)):
                for item in items:
                    parts = []
                    for word in item.split():
                        prefix = word.endswith("*")
                        toks = self.tokens(word.rstrip("*")) if not prefix else self._basic_tokens(word.rstrip("*"))
                        if not toks:
                            continue
                        if prefix:
                            toks[-1] = toks[-1] + "*"
                        parts.extend(toks)
                    if parts:
                        compiled.append(_Keyword(topic.id, tuple(parts), weight, announces, alone))
        return compiled

    @staticmethod
    def _phrase_in(parts: tuple[str, ...], words: list[str]) -> bool:
        """The parts in order, anywhere in the words (:func:`phrase_end`)."""
        phrase = forms(parts)
        for i in range(len(words)):
            if phrase_end(phrase, words, i) is not None:
                return True
        return False

    def _features(self, words: list[str]) -> list[str]:
        stems = [stem(w) for w in words if w not in self.lexicon.stopwords]
        return stems + [f"{a}_{b}" for a, b in zip(stems, stems[1:])]

    def _build_index(self) -> None:
        docs: list[tuple[str, list[str]]] = []
        for topic in self.topics.values():
            for example in topic.examples:
                feats = self._features(self.tokens(example))
                if feats:
                    docs.append((topic.id, feats))
        df: dict[str, int] = defaultdict(int)
        for _, feats in docs:
            for f in set(feats):
                df[f] += 1
        n = max(len(docs), 1)
        self._idf = {f: math.log((1 + n) / (1 + c)) + 1.0 for f, c in df.items()}
        self._doc_topic: list[str] = []
        self._postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for i, (tid, feats) in enumerate(docs):
            vec = self._vector(feats)
            self._doc_topic.append(tid)
            for f, w in vec.items():
                self._postings[f].append((i, w))

    def _vector(self, feats: list[str]) -> dict[str, float]:
        counts: dict[str, int] = defaultdict(int)
        for f in feats:
            if f in self._idf:
                counts[f] += 1
        vec = {f: (1 + math.log(c)) * self._idf[f] for f, c in counts.items()}
        norm = math.sqrt(sum(w * w for w in vec.values())) or 1.0
        return {f: w / norm for f, w in vec.items()}

    def similarity(self, words: list[str]) -> dict[str, float]:
        """Per topic, the cosine similarity to its closest example."""
        query = self._vector(self._features(words))
        acc: dict[int, float] = defaultdict(float)
        for f, w in query.items():
            for doc, dw in self._postings.get(f, ()):
                acc[doc] += w * dw
        best: dict[str, float] = defaultdict(float)
        for doc, score in acc.items():
            tid = self._doc_topic[doc]
            if score > best[tid]:
                best[tid] = score
        return best

    def _index_keywords(self) -> None:
        """Keywords by their first word, so a message only tries phrases that can start at each word."""
        self._by_first: dict[str, list[_Keyword]] = defaultdict(list)
        self._by_prefix: dict[str, list[_Keyword]] = defaultdict(list)
        for kw in self.keywords:
            first = kw.parts[0]
            if first.endswith("*"):
                self._by_prefix[first[:-1]].append(kw)
            else:
                self._by_first[first].append(kw)
        self._prefix_lengths = sorted({len(p) for p in self._by_prefix})

    def _starting_at(self, word: str) -> list[_Keyword]:
        found = list(self._by_first.get(word, ()))
        for suffix in ("s", "es"):  # plurals: "derechos" starts the "derecho ..." phrases
            if word.endswith(suffix) and len(word) - len(suffix) > 3:
                found += self._by_first.get(word[: -len(suffix)], ())
        for n in self._prefix_lengths:
            if n > len(word):
                break
            found += self._by_prefix.get(word[:n], ())
        return found

    @staticmethod
    def _phrase_at(parts: tuple[str, ...], words: list[str], start: int) -> int | None:
        """Where the phrase starting at ``start`` ends (its last word's index), or None."""
        return phrase_end(forms(parts), words, start)

    def keyword_scores(self, words: list[str]) -> dict[str, float]:
        """Per topic: a strong cue counts fully, more cues add less.

        Keywords overlap ("al llenar", "llenar la solicitud", "llen*"), so
        summing them would reward a topic for having many spellings of one
        idea. A cue inside the words of a stronger or longer cue of the same
        topic does not count again ("me equivoque" holds "equivoque"; "al
        llenar la solicitud" holds "llenar"), and more cues
        add less, so one clear cue of a problem can beat echoes of a how-to.
        """
        found: list[tuple[_Keyword, int, int]] = []
        seen: set[tuple[int, int]] = set()
        for i, word in enumerate(words):
            for kw in self._starting_at(word):
                end = phrase_end(kw.phrase, words, i)
                if end is not None and (id(kw), i) not in seen:
                    if kw.alone and not self._alone(words, i, end):
                        continue
                    seen.add((id(kw), i))
                    found.append((kw, i, end))
        # Strong before weak, longer before shorter: the best reading of each word wins.
        found.sort(key=lambda f: (-f[0].weight, -(f[2] - f[1])))
        taken: dict[str, list[set[int]]] = defaultdict(list)
        strong: dict[str, int] = defaultdict(int)
        announced: dict[str, int] = defaultdict(int)  # of the strong cues, those that announce
        weak: dict[str, float] = defaultdict(float)
        counted: set[int] = set()
        longer: list[set[int]] = []  # spans of strong phrases of two words or more, any topic
        for kw, start, end in found:
            span = set(range(start, end + 1))
            if id(kw) in counted or any(span <= other for other in taken[kw.topic]):
                continue
            if any(span < other for other in longer):
                # A cue read inside another topic's longer strong phrase ("cubre" in "ya me
                # cubre", "baja del seguro" in "dar de baja del seguro"): the phrase says
                # what its words mean there.
                continue
            if len(span) > 1 and kw.weight >= STRONG:
                longer.append(span)
            taken[kw.topic].append(span)
            counted.add(id(kw))
            if kw.weight >= STRONG:
                strong[kw.topic] += 1
                announced[kw.topic] += kw.announces
            else:
                weak[kw.topic] += kw.weight
        named = {t for t, n in strong.items() if n > announced[t] and t not in SOCIAL}
        for topic, n in list(strong.items()):
            if n and n == announced[topic] and named - {topic}:
                # "no me deja entrar al CIA, urgente": a word that announces a question
                # ("urgente", "me urge") is not its topic when the question names its own.
                del strong[topic]
                weak[topic] += WEAK
        scores: dict[str, float] = {}
        for topic in set(strong) | set(weak):
            n = strong.get(topic, 0)
            scores[topic] = (STRONG + min(n - 1, 2) * EXTRA_STRONG if n else 0.0) + min(weak.get(topic, 0.0), WEAK_CAP)
        return scores

    def _alone(self, words: list[str], start: int, end: int) -> bool:
        """Whether words[start:end + 1] is the whole message, but for stopwords and courtesies."""
        stopwords, social = self.lexicon.stopwords, self._social_words
        return all(start <= j <= end or w in stopwords or w in social for j, w in enumerate(words))

    # --- the decision ----------------------------------------------------------------

    def _score(self, words: list[str]) -> tuple[dict[str, float], dict[str, float]]:
        """Every topic's score for these words, and the keyword part of it."""
        kw = self.keyword_scores(words)
        sim = self.similarity(words)
        scores = {t: kw.get(t, 0.0) + SIMILARITY * sim.get(t, 0.0) for t in self.topics}
        if len(words) > LONG:
            # A run-on tells the story first and asks last: the close weighs double.
            tail = words[-TAIL:]
            tail_kw = self.keyword_scores(tail)
            tail_sim = self.similarity(tail)
            for t in self.topics:
                scores[t] += tail_kw.get(t, 0.0) + SIMILARITY * tail_sim.get(t, 0.0)
            for t, value in tail_kw.items():
                kw[t] = max(kw.get(t, 0.0), value)
        for tid, topic in self.topics.items():
            # A topic's priority counts once it has a strong cue: a reported problem
            # outranks the how-to it mentions, an emergency outranks everything.
            if topic.priority and kw.get(tid, 0.0) >= STRONG:
                scores[tid] += topic.priority
        return scores, kw

    def _content_words(self, words: list[str]) -> int:
        """Words that are neither stopwords nor part of a greeting or goodbye."""
        social = self._social_words
        return sum(1 for w in words if w not in self.lexicon.stopwords and w not in social)

    def _opening(self, words: list[str]) -> int:
        """Where the message proper starts: after the greetings and announcements it opens with.

        "Buenas tardes, tengo una duda sobre el NSS": the courtesy says a question
        follows, the rest is the question. Only an opening counts: a cue of a
        greeting later in the message is read with the rest.
        """
        stopwords = self.lexicon.stopwords
        i = opening = 0
        while i < len(words):
            ends = [end for kw in self._starting_at(words[i])
                    if (kw.topic in SOCIAL or kw.announces) and kw.weight >= STRONG
                    and (end := phrase_end(kw.phrase, words, i)) is not None]
            if ends and not self._runs_past(words, i, max(ends)):
                i = opening = max(ends) + 1
            elif words[i] in stopwords and not ends:
                i += 1
            else:
                break
        return opening

    def _runs_past(self, words: list[str], start: int, end: int) -> bool:
        """Whether a topic's strong phrase starts inside words[start:end + 1] and ends after it
        ("tengo una pregunta diferente": the question is the desk's, not a greeting's)."""
        return any(kw.topic not in SOCIAL and not kw.announces and kw.weight >= STRONG
                   and (stop := phrase_end(kw.phrase, words, j)) is not None and stop > end
                   for j in range(start, end + 1) for kw in self._starting_at(words[j]))

    def _clause_topics(self, text: str) -> list[tuple[str, str]]:
        """In order, the topic of each clause that a strong cue names ("cuánto tarda | y cómo checo
        mi vigencia"), with the clause; empty for a message of one clause."""
        clauses = [c for part in _CLAUSE.split(fold(text[:READ])) if part for c in _questions(part)
                   if len(c.split()) >= 2]
        if len(clauses) < 2:
            return []
        named: list[tuple[str, str]] = []
        for clause in clauses:
            words = self.tokens(clause)
            if not words:
                continue
            scores, kw = self._score(words)
            best, second = sorted(scores, key=lambda t: scores[t], reverse=True)[:2]
            if best in SOCIAL and "," in clause:
                # "oye una pregunta, bueno varias, ¿cuál es el horario…": the greeting or the
                # announcement kept the question with it; the question is the clause.
                rest = clause.split(",", 1)[1]
                r_scores, r_kw = self._score(self.tokens(rest))
                if r_scores:
                    r_best = max(r_scores, key=lambda t: r_scores[t])
                    if r_best not in SOCIAL and r_kw.get(r_best, 0) >= STRONG:
                        named.append((r_best, rest))
                        continue
            if kw.get(best, 0) >= STRONG or (
                    # "…¿cuánto cuesta? ¿y dónde lo pido?": a question of its own whose words
                    # point clearly at one topic, in a message about the insurance.
                    kw.get(best, 0) >= WEAK and _ASKS.search(clause) and best not in SOCIAL
                    and scores[best] >= CONFIDENT and scores[best] - scores[second] >= WEAK / 2):
                named.append((best, clause))
                if self.topics[best].kind == "escalation" and (tail := _asked_after_news(clause)):
                    # "…y sigo sin aparecer vigente, ¿a quién le hablo?": the problem told, and a
                    # question of its own after it, when that question names its topic clearly.
                    tail_scores, tail_kw = self._score(self.tokens(tail))
                    asked = max(tail_scores, key=lambda t: tail_scores[t])
                    if asked != best and asked not in SOCIAL and tail_kw.get(asked, 0) >= STRONG:
                        named.append((asked, tail))
        return named

    def known(self, topic_id: str, text: str) -> KnownAnswer | None:
        """The first of a topic's known answers (``Topic.known``) whose phrases the text has."""
        found = self.known_all(topic_id, text)
        return found[0] if found else None

    def known_all(self, topic_id: str, text: str) -> list[KnownAnswer]:
        """Every known answer of a topic whose phrases the text has, in the topic's order
        ("¿cubre a mis hijos? ¿cuánto cuesta?" asks two of the desk's)."""
        topic = self.topics.get(topic_id)
        if topic is None or not topic.known:
            return []
        compiled = self._known.get(topic_id)
        if compiled is None:  # the phrases normalised once, like the keywords
            compiled = self._known[topic_id] = [
                (tuple(parts), known) for known in topic.known for phrase in known.when
                if (parts := self.tokens(phrase))]
        words = self.tokens(text)
        return list(dict.fromkeys(known for parts, known in compiled if self._phrase_in(parts, words)))

    def follow_up(self, topic_id: str, text: str) -> KnownAnswer | None:
        """The first of a topic's follow-ups (``Topic.follow_ups``) whose phrases the text has
        (for one marked ``alone``, the phrase is the whole text but for the words that lead on
        from the answer before: "y", "osea", "ok", "and"...)."""
        topic = self.topics.get(topic_id)
        if topic is None or not topic.follow_ups:
            return None
        compiled = self._follow_ups.get(topic_id)
        if compiled is None:
            compiled = self._follow_ups[topic_id] = [
                (tuple(parts), item) for item in topic.follow_ups for phrase in item.when
                if (parts := self.tokens(phrase))]
        words = self.tokens(text)
        bare = list(words)
        while bare and bare[0] in LEADS_ON:
            bare.pop(0)
        for parts, item in compiled:
            if (bare == list(parts)) if item.alone else self._phrase_in(parts, words):
                return item
        return None

    def known_answer(self, topic_id: str, text: str) -> str | None:
        """The text of :meth:`known`."""
        found = self.known(topic_id, text)
        return found.answer if found else None

    def classify(self, text: str) -> Match:
        folded = fold(text)
        changed = None
        for changed in _CHANGE_OF_MIND.finditer(folded):
            pass  # the last correction of the message
        if changed is None or len(self.tokens(folded[:changed.start()])) < MIN_BEFORE_CHANGE:
            return self._classify(text)
        # The student corrected themself: the question after the correction wins, when it is one.
        whole = self._classify(text)
        rest = self._classify(folded[changed.end():])
        if rest.topic == "fuera_de_tema" and whole.domain:
            # "…no, mejor dicho dónde la hago": the insurance was named before the correction.
            named = [t for t, _ in rest.ranked
                     if t not in SOCIAL and t != "fuera_de_tema" and rest.keyword_scores.get(t, 0.0) > 0]
            if named:
                rest = replace(rest, topic=named[0], score=max(rest.score, CONFIDENT), confident=True, domain=True)
        return rest if rest.topic is not None and rest.topic not in SOCIAL and rest.confident else whole

    def _classify(self, text: str) -> Match:  # noqa: C901 - one decision, read top to bottom
        words = self.tokens(text)
        if not words:
            return Match(None, 0.0, [], [], confident=False, domain=False)
        scores, kw = self._score(words)
        opening = self._opening(words)
        if 0 < opening < len(words):
            # The question after the courtesy decides the substantive topics: the
            # courtesy's words ("tengo una duda") do not make it resemble a topic.
            rest_scores, rest_kw = self._score(words[opening:])
            for t in self.topics:
                if t not in SOCIAL:
                    scores[t] = rest_scores[t]
                    kw.pop(t, None)
            kw.update({t: v for t, v in rest_kw.items() if t not in SOCIAL})
        domain = any(w.startswith(DOMAIN_STEMS) for w in words) or "mesa de ayuda" in " ".join(words)
        # An emergency is never off-topic, even "en la biblioteca": a standalone topic
        # with a priority (urgencia) keeps its chance against a named campus place.
        urgent = any(t.standalone and t.priority > 0 and kw.get(t.id, 0.0) >= STRONG for t in self.topics.values())
        specific = any(w.startswith(SPECIFIC_STEMS) for w in words) or "mesa de ayuda" in " ".join(words)
        if not urgent and kw.get("fuera_de_tema", 0.0) >= STRONG and (not domain or not specific):
            # Something else named outright (the library, grades) and nothing of the insurance
            # ("¿cómo tramito la beca?": a procedure's words, but not this procedure's).
            scores["fuera_de_tema"] = max(scores.values()) + 1.0
        ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
        substantive = [(t, s) for t, s in ranked if t not in SOCIAL]
        social = [(t, s) for t, s in ranked if t in SOCIAL]
        top, top_score = substantive[0] if substantive else (None, 0.0)
        # "Buenas tardes, ¿cuál es el procedimiento para consultar mi vigencia?" is
        # a question wrapped in courtesy: the courtesy wins only when it is most of it.
        wrapped = domain and self._content_words(words) >= MANY_WORDS
        if domain and 0 < opening < len(words) and top is not None and kw.get(top, 0.0) > 0:
            # "Una pregunta sobre el NSS": what follows the announcement names its subject.
            wrapped = True
        if social and not wrapped and (top_score < SUBSTANTIVE and social[0][1] >= top_score or top_score < 0.5
                                       or (kw.get(social[0][0], 0.0) >= STRONG
                                           and not any(kw.get(t, 0.0) for t, _ in substantive))
                                       or (kw.get(social[0][0], 0.0) >= STRONG + WEAK and social[0][1] > top_score
                                           and not any(kw.get(t, 0.0) >= STRONG for t, _ in substantive))):
            # A clear greeting ("tengo una duda") and no cue of any topic, only a resemblance to
            # an example: the greeting (the menu asks what the doubt is).
            top, top_score = social[0]
        if (top is not None and top not in SOCIAL and not domain and kw.get(top, 0.0) < STRONG
                and (not self.topics[top].standalone or (self.topics[top].kind == "escalation" and kw.get(top, 0.0) < WEAK * 2)
                     # "¿y entonces qué hago?" only resembles "¿qué hago si me enfermo?": an emergency
                     # is named by a cue of its own, never by resemblance alone.
                     or (self.topics[top].priority > 0 and not kw.get(top, 0.0)))):
            # A standalone escalation (asking for a person) still needs a clear cue, or two weak ones:
            # "¿cuánto cuesta un boleto a Cancún?" only resembles "¿cuánto cuesta el seguro?".
            clear_social = [(t, sc) for t, sc in social if kw.get(t, 0.0) >= STRONG]
            if clear_social:
                # "opciones": a clear greeting or goodbye, and only echoes of a topic.
                top, top_score = clear_social[0]
            else:
                # Nothing of the insurance and no clear cue: it is about something else.
                top, top_score = "fuera_de_tema", max(top_score, CONFIDENT)
        if (top in SOCIAL and not domain and not urgent and 0 < opening < len(words)
                and self._content_words(words[opening:]) >= MANY_WORDS
                and not (words[opening] in _SELF_INTRO and "itson" in words)):
            # "Alguien sabe una receta de chilaquiles…": a question follows the
            # courtesy, and it is not about the insurance.
            top, top_score = "fuera_de_tema", max(top_score, CONFIDENT)
        if (top is not None and top not in SOCIAL and top_score < CONFIDENT and social
                and kw.get(social[0][0], 0.0) >= STRONG):
            # "HOLA NECESITO AYUDA CON LO DEL SEGURO": a clear greeting and nothing clear after
            # it: the greeting's menu, rather than a guess among topics.
            top, top_score = social[0]
        confident = top_score >= CONFIDENT
        named = self._clause_topics(text) if top and top not in SOCIAL and confident else []
        # A question for the desk that it has a known answer for ("…¿cuánto cuesta?") is
        # answered like the others; one it has none for still goes to a person first.
        desk = [clause for t, clause in named if t == "duda_general"]
        answerable = bool(desk) and all(self.known("duda_general", clause) for clause in desk)
        # The questions asked in the message's clauses, in order ("…y tmb cuál es su horario?").
        asked = list(dict.fromkeys(
            t for t, _ in named if t != "fuera_de_tema"
            and (self.topics[t].kind == "answer" or (t == "duda_general" and answerable))))
        first = next((t for t in asked if self.topics[t].kind == "answer"), None)
        if (first and first != top and top is not None
                and (self.topics[top].kind == "answer" or (top == "duda_general" and answerable
                                                           and asked.index(first) < asked.index(top)))):
            # Questions answered in the order they were asked ("¿cuánto tarda y cómo checo mi
            # vigencia?"); one the whole message resembles without a clause naming it goes last.
            # A reported problem (an escalation) still comes first.
            if top not in asked:
                asked.append(top)
            top = first
            top_score = max(top_score, scores.get(top, 0.0))
        problem = next((t for t, clause in named if self.topics[t].kind == "escalation" and t != "duda_general"
                        and not WHAT_IF.match(clause.strip()) and not _IF_IT_FAILS.search(clause)), None)
        if problem and top is not None and top != problem and self.topics[top].kind == "answer":
            # "me equivoqué en el NSS y también quiero saber cuánto tarda": a problem a clause
            # reports comes first, even when the rest of the message outweighs it; the
            # questions are answered too.
            if top not in asked:
                asked.insert(0, top)
            top = problem
            top_score = max(top_score, scores.get(top, 0.0))
        supposed = [clause for t, clause in named if t == top]
        if (first and top is not None and top != first and self.topics[top].kind == "escalation" and top != "duda_general"
                and supposed and all(WHAT_IF.match(c.strip()) or _IF_IT_FAILS.search(c) for c in supposed)):
            # "¿cómo me doy de alta y a qué número hablo si no me deja?": the failure is supposed,
            # the questions are what is asked (a problem told outright still comes first, above).
            top = first
            top_score = max(top_score, scores.get(top, 0.0))
            for clause in supposed:  # what those clauses ask before the "si no …" ("¿a qué número hablo")
                before_if = _IF_IT_FAILS.split(clause)[0]
                b_scores, b_kw = self._score(self.tokens(before_if))
                if b_scores:
                    asked_here = max(b_scores, key=lambda t: b_scores[t])
                    if (b_kw.get(asked_here, 0.0) >= STRONG and self.topics[asked_here].kind == "answer"
                            and asked_here not in asked):
                        asked.append(asked_here)
        also = tuple(t for t in asked if t != top)[:MAX_ALSO]
        return Match(
            topic=top, score=top_score, ranked=ranked, tokens=words, confident=confident,
            domain=domain, keyword_scores=dict(kw), also=also,
        )
