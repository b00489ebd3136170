//! The compound registry and taxonomy, and address → compound resolution.
//!
//! Resolution, in order: **exact** (the whole address is a name or alias), **alias** /
//! **substring** (the longest name or alias inside the address, by a character-wise
//! double-array Aho-Corasick automaton), **fuzzy**
//! (character edit distance against the names that share the most of the address's rarer
//! character pairs, side by side or one apart, with a similarity score; a name one edit away
//! below the threshold only where the export's place confirms it). A name shared by several
//! compounds is resolved by the street or community named in the address, else by what the export's own columns say of the place ([`Place`]: its grid,
//! community or street), else by the official name, else left unresolved as ambiguous.
//! Where the address's name runs on past a match (not into a building number), it may be a
//! typo of a longer name that begins with the match, whose tail is then compared with what
//! follows (`Registry::extension`). The building number that ends an address (`21号楼3单元`,
//! [`address_stem`]) is dropped first: it names no compound, and its digits must not vote
//! for the road-number aliases (`中山路21号`) that share them.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;

use aho_corasick::AhoCorasick;
use daachorse::{CharwiseDoubleArrayAhoCorasick, CharwiseDoubleArrayAhoCorasickBuilder, MatchKind};
use foldhash::quality::FixedState;
use serde::{Deserialize, Serialize};

use crate::normalize::{address_key, address_stem};
use crate::{Error, Result};

/// One residential compound (小区). A district's registry needs the id, name, street and
/// population (the rates are per resident); the other columns may be missing or blank.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Compound {
    /// Stable id.
    pub compound_id: String,
    /// Official name.
    pub name: String,
    /// Aliases: phase names, road-number addresses, abbreviations (`|`-separated in the CSV).
    #[serde(default)]
    pub aliases: String,
    /// 街道.
    pub street: String,
    /// 社区.
    #[serde(default)]
    pub community: String,
    /// 网格.
    #[serde(default)]
    pub grid: String,
    /// Households (0 when not given).
    #[serde(default, deserialize_with = "blank_is_zero")]
    pub households: u32,
    /// Residents.
    pub population: u32,
    /// 商品房, 老旧小区, 三无小区, 城中村, 安置房.
    #[serde(rename = "type", default)]
    pub kind: String,
    /// Property-management company (empty for 三无小区).
    #[serde(default)]
    pub property_company: String,
    /// Longitude, if the registry has coordinates (the report's map needs them).
    #[serde(default)]
    pub lon: Option<f64>,
    /// Latitude.
    #[serde(default)]
    pub lat: Option<f64>,
    /// Year built.
    #[serde(default)]
    pub year_built: Option<u32>,
}

/// A count a registry may leave blank: 0 then.
fn blank_is_zero<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<u32, D::Error> {
    Ok(Option::<u32>::deserialize(d)?.unwrap_or(0))
}

/// How an address was matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum MatchMethod {
    /// The address is the name or an alias.
    Exact,
    /// An alias appears in the address.
    Alias,
    /// The name appears in the address.
    Substring,
    /// Close in edit distance.
    Fuzzy,
    /// Several compounds fit and no street tells them apart.
    Ambiguous,
    /// Nothing fits.
    Unresolved,
}

impl MatchMethod {
    /// Lower-case name stored in the lake.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchMethod::Exact => "exact",
            MatchMethod::Alias => "alias",
            MatchMethod::Substring => "substring",
            MatchMethod::Fuzzy => "fuzzy",
            MatchMethod::Ambiguous => "ambiguous",
            MatchMethod::Unresolved => "unresolved",
        }
    }
}

/// Where an export says a record is, beside its address: the raw values of its own grid,
/// community and street columns (e.g. `网格`, `所属社区`, `所属街道` or a `承办单位` such as
/// `东城街道办事处`); empty when it has none. Used only to choose among compounds an address
/// fits equally well.
#[derive(Debug, Default, Clone, Copy)]
pub struct Place<'a> {
    /// The export's street (or a unit whose name holds it).
    pub street: &'a str,
    /// The export's community.
    pub community: &'a str,
    /// The export's grid.
    pub grid: &'a str,
}

impl Place<'_> {
    fn is_empty(&self) -> bool {
        [self.grid, self.community, self.street]
            .iter()
            .all(|v| v.trim().is_empty())
    }
}

/// The outcome of resolving one address.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Resolution {
    /// Index into [`Registry::compounds`], if resolved.
    pub compound: Option<usize>,
    /// Method.
    pub method: MatchMethod,
    /// Confidence in [0, 1].
    pub score: f64,
}

/// A key's compounds, and those of them whose official name it is.
type KeyCompounds = (Vec<usize>, Vec<usize>);

struct Pattern {
    key: String,
    /// The key's characters (for the fuzzy match).
    chars: Vec<char>,
    compounds: Vec<usize>,
    /// The compounds whose official name (not an alias) this is.
    names: Vec<usize>,
    /// How many longer names and aliases begin with this one (they follow it in sorted
    /// order).
    longer: usize,
}

impl Pattern {
    /// Whether some longer name or alias begins with this one.
    fn extended(&self) -> bool {
        self.longer > 0
    }
}

/// What a match needs of its pattern, kept apart from the patterns in a dense array (eight
/// to a cache line): most matches name one compound and go no further.
#[derive(Clone, Copy)]
struct Head {
    /// The compound, when the pattern names only one; `u32::MAX` otherwise.
    only: u32,
    is_alias: bool,
}

/// The registry with its matchers.
pub struct Registry {
    /// All compounds.
    pub compounds: Vec<Compound>,
    patterns: Vec<Pattern>,
    /// One per pattern.
    heads: Vec<Head>,
    /// Every name and alias key, valued by its index in `patterns`, leftmost-longest. It
    /// steps a character at a time (an address is mostly three-byte CJK, which a byte-wise
    /// automaton walks in three transitions).
    ac: CharwiseDoubleArrayAhoCorasick<u32>,
    /// Each pattern's length in characters (at most 255), apart from the patterns: the
    /// fuzzy match reads it for hundreds of candidates.
    lens: Vec<u8>,
    /// Every pattern's characters end to end, and where each begins (one more entry, the
    /// end): the fuzzy match compares sixteen names an address, and reads them from here
    /// rather than through each pattern's own allocation.
    name_chars: Vec<char>,
    name_at: Vec<u32>,
    /// The patterns of each [`Gram`] (for the fuzzy match's candidates), in pattern order.
    postings: HashMap<Gram, Vec<u32>, FixedState>,
    fuzzy_threshold: f64,
    /// The distinct non-empty address keys of the streets and communities, as one automaton
    /// (for the ones an address names).
    areas: AhoCorasick,
    /// Each compound's street and community in `areas`; `u32::MAX` for none.
    area_of: Vec<[u32; 2]>,
    /// Each compound's grid, community and street as address keys (for [`Place`]).
    place_keys: Vec<[Box<str>; 3]>,
    /// Every grid of the registry, as an address key.
    grids: std::collections::HashSet<Box<str>, FixedState>,
    /// The labels every resolved record copies (id, street, community, grid), one cache
    /// line per compound: the ingest reads them for most rows, at a compound it cannot
    /// foresee, so the line is fetched ([`Registry::prefetch_labels`]) as soon as the
    /// compound is known, and read after the rest of the row is mapped.
    label_lines: Vec<LabelLine>,
}

/// A compound's four labels in one cache line: each label's end, then the labels one after
/// another. Labels too long for the line (more than 60 bytes together) are marked by an end
/// past it and read from the compound instead.
#[repr(C, align(64))]
struct LabelLine {
    ends: [u8; 4],
    bytes: [u8; 60],
}

impl LabelLine {
    fn new(c: &Compound) -> LabelLine {
        let mut line = LabelLine {
            ends: [u8::MAX; 4],
            bytes: [0; 60],
        };
        let labels = [&c.compound_id, &c.street, &c.community, &c.grid];
        if labels.iter().map(|l| l.len()).sum::<usize>() <= line.bytes.len() {
            let mut at = 0;
            for (end, l) in line.ends.iter_mut().zip(labels) {
                line.bytes[at..at + l.len()].copy_from_slice(l.as_bytes());
                at += l.len();
                *end = at as u8;
            }
        }
        line
    }
}

/// A compound's labels, as [`Registry::labels`] gives them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Labels<'r> {
    /// `compound_id`.
    pub id: &'r str,
    /// 街道.
    pub street: &'r str,
    /// 社区.
    pub community: &'r str,
    /// 网格.
    pub grid: &'r str,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Registry({} compounds)", self.compounds.len())
    }
}

/// Reads a CSV of serde records, naming file and row on error.
pub fn read_reference_csv<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Vec<T>> {
    let text = read_text(path)?;
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let mut out = vec![];
    for (i, r) in rdr.deserialize().enumerate() {
        out.push(r.map_err(|e| Error::Reference {
            path: path.into(),
            row: i + 2,
            reason: e.to_string(),
        })?);
    }
    Ok(out)
}

/// A text file an analyst keeps (the registry, the taxonomy, the rules, the lexicon): saved
/// by Excel or Notepad as GBK, or as UTF-8 with or without a byte-order mark, all read alike
/// (the encoding told as for exports, the mark dropped).
///
/// # Errors
/// An unreadable file, or bytes that are neither UTF-8 nor GB18030.
pub fn read_text(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.into(),
        source,
    })?;
    let encoding = crate::ingest::readers::detect_encoding(&bytes);
    let (text, _, unmappable) = encoding.decode(&bytes);
    if unmappable {
        return Err(Error::Reference {
            path: path.into(),
            row: 0,
            reason: "neither UTF-8 nor GBK/GB18030 text".into(),
        });
    }
    Ok(text.into_owned())
}

impl Registry {
    /// Loads `compounds.csv`.
    ///
    /// # Errors
    /// Unreadable file, a bad row, or a duplicate id.
    pub fn load(path: &Path, fuzzy_threshold: f64) -> Result<Registry> {
        let compounds: Vec<Compound> = read_reference_csv(path)?;
        let mut seen = std::collections::HashSet::new();
        for (i, c) in compounds.iter().enumerate() {
            if !seen.insert(c.compound_id.clone()) {
                return Err(Error::Reference {
                    path: path.into(),
                    row: i + 2,
                    reason: format!("duplicate compound_id {}", c.compound_id),
                });
            }
        }
        let r = Registry::new(compounds, fuzzy_threshold).map_err(|reason| Error::Reference {
            path: path.into(),
            row: 0,
            reason,
        })?;
        tracing::debug!(
            compounds = r.compounds.len(),
            names_and_aliases = r.patterns.len(),
            automaton_states = r.ac.num_states(),
            automaton_bytes = r.ac.heap_bytes(),
            "registry loaded"
        );
        Ok(r)
    }

    /// Builds the matchers over `compounds`.
    ///
    /// # Errors
    /// The automaton cannot be built.
    pub fn new(
        compounds: Vec<Compound>,
        fuzzy_threshold: f64,
    ) -> std::result::Result<Registry, String> {
        // Each key's compounds, and those of them whose official name it is.
        let mut by_key: HashMap<String, KeyCompounds> = HashMap::new();
        for (i, c) in compounds.iter().enumerate() {
            let name = address_key(&c.name);
            let aliases = c.aliases.split('|').map(address_key);
            for (n, key) in std::iter::once(name).chain(aliases).enumerate() {
                if key.chars().count() < 2 {
                    continue;
                }
                let (all, names) = by_key.entry(key.into_owned()).or_default();
                if !all.contains(&i) {
                    all.push(i);
                }
                if n == 0 {
                    names.push(i);
                }
            }
        }
        let mut by_key: Vec<(String, KeyCompounds)> = by_key.into_iter().collect();
        by_key.sort_by(|a, b| a.0.cmp(&b.0));
        let heads = by_key
            .iter()
            .map(|(_, (compounds, names))| Head {
                only: match compounds[..] {
                    [c] => u32::try_from(c).unwrap_or(u32::MAX),
                    _ => u32::MAX,
                },
                // An alias of some compounds and the name of another counts as a name.
                is_alias: names.is_empty(),
            })
            .collect();
        // Sorted, the keys that begin with a key follow it.
        let longer: Vec<usize> = (0..by_key.len())
            .map(|i| {
                let head = by_key[i].0.as_str();
                (by_key[i + 1..].iter())
                    .take_while(|(next, _)| next.starts_with(head))
                    .count()
            })
            .collect();
        let patterns: Vec<Pattern> = (by_key.into_iter().zip(longer))
            .map(|((key, (compounds, names)), longer)| Pattern {
                chars: key.chars().collect(),
                key,
                compounds,
                names,
                longer,
            })
            .collect();
        let ac = CharwiseDoubleArrayAhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .build_with_values(
                (patterns.iter().enumerate()).map(|(i, p)| (p.key.as_str(), i as u32)),
            )
            .map_err(|e| e.to_string())?;
        let lens = (patterns.iter())
            .map(|p| p.chars.len().min(255) as u8)
            .collect();
        let mut name_chars = Vec::with_capacity(patterns.iter().map(|p| p.chars.len()).sum());
        let mut name_at = Vec::with_capacity(patterns.len() + 1);
        for p in &patterns {
            name_at.push(name_chars.len() as u32);
            name_chars.extend(&p.chars);
        }
        name_at.push(name_chars.len() as u32);
        let mut postings: HashMap<Gram, Vec<u32>, FixedState> = HashMap::default();
        for (pi, p) in patterns.iter().enumerate() {
            for g in grams(&p.chars) {
                let v = postings.entry(g).or_default();
                if v.last() != Some(&(pi as u32)) {
                    v.push(pi as u32);
                }
            }
        }
        let mut area_ids: HashMap<String, u32, FixedState> = HashMap::default();
        let area_of = compounds
            .iter()
            .map(|c| {
                [&c.street, &c.community].map(|l| {
                    let key = address_key(l);
                    if key.is_empty() {
                        return u32::MAX;
                    }
                    let next = area_ids.len() as u32;
                    *area_ids.entry(key.into_owned()).or_insert(next)
                })
            })
            .collect();
        let mut area_keys: Vec<(String, u32)> = area_ids.into_iter().collect();
        area_keys.sort_by_key(|&(_, id)| id);
        // Standard semantics: every area the address contains, overlapping or not.
        let areas = AhoCorasick::new(area_keys.iter().map(|(k, _)| k.as_str()))
            .map_err(|e| e.to_string())?;
        let place_keys: Vec<[Box<str>; 3]> = compounds
            .iter()
            .map(|c| [&c.grid, &c.community, &c.street].map(|l| address_key(l).into()))
            .collect();
        let grids = (place_keys.iter())
            .map(|k| k[0].clone())
            .filter(|g| !g.is_empty())
            .collect();
        let label_lines = compounds.iter().map(LabelLine::new).collect();
        Ok(Registry {
            label_lines,
            compounds,
            patterns,
            heads,
            ac,
            lens,
            name_chars,
            name_at,
            postings,
            fuzzy_threshold,
            areas,
            area_of,
            place_keys,
            grids,
        })
    }

    /// Every place name the registry holds: the compounds' names and aliases, and the
    /// streets and communities they are in (repeated as often as compounds have them).
    pub fn place_names(&self) -> impl Iterator<Item = &str> {
        self.compounds.iter().flat_map(|c| {
            [c.name.as_str(), c.street.as_str(), c.community.as_str()]
                .into_iter()
                .chain(c.aliases.split('|'))
                .map(str::trim)
                .filter(|p| !p.is_empty())
        })
    }

    /// The id, street, community and grid of compound `c`.
    pub fn labels(&self, c: usize) -> Labels<'_> {
        let line = &self.label_lines[c];
        let ends = line.ends.map(usize::from);
        if ends[3] > line.bytes.len() {
            let c = &self.compounds[c];
            return Labels {
                id: &c.compound_id,
                street: &c.street,
                community: &c.community,
                grid: &c.grid,
            };
        }
        let at = |from: usize, to: usize| {
            (line.bytes.get(from..to))
                .and_then(|b| std::str::from_utf8(b).ok())
                .unwrap_or("")
        };
        Labels {
            id: at(0, ends[0]),
            street: at(ends[0], ends[1]),
            community: at(ends[1], ends[2]),
            grid: at(ends[2], ends[3]),
        }
    }

    /// Starts fetching compound `c`'s labels into the cache, for a [`Registry::labels`] a
    /// little later (a no-op off x86-64, or for a compound not in the registry).
    pub fn prefetch_labels(&self, c: usize) {
        if let Some(line) = self.label_lines.get(c) {
            prefetch(line);
        }
    }

    /// Resolves an address (and optionally a compound name typed by the user).
    pub fn resolve(&self, address: &str) -> Resolution {
        self.resolve_in(address, &Place::default())
    }

    /// Resolves an address, using what the export says of the place ([`Place`]) to choose
    /// among compounds the address fits equally well. The building number that ends it
    /// does not take part, except that with one the name is not the whole address (not
    /// exact).
    pub fn resolve_in(&self, address: &str, place: &Place<'_>) -> Resolution {
        let key = address_key(address);
        let stem = address_stem(&key);
        if stem.is_empty() {
            return UNRESOLVED;
        }
        self.resolve_key(stem, stem.len() < key.len(), place)
    }

    /// The compounds an address fits equally well before any tie-break: those of its
    /// longest name or alias, else of the names equally close to it (for telling an analyst
    /// why an address stayed ambiguous).
    pub fn candidates(&self, address: &str) -> Vec<usize> {
        let key = address_key(address);
        let stem = address_stem(&key);
        match self.longest_match(stem) {
            Some((pi, _, _)) => self.compounds_of(&[pi]),
            None => (self.fuzzy_best(stem)).map_or(vec![], |(_, tied)| self.compounds_of(&tied)),
        }
    }

    /// The compounds of `patterns`, each once, in order.
    fn compounds_of(&self, patterns: &[usize]) -> Vec<usize> {
        let mut out: Vec<usize> = (patterns.iter())
            .flat_map(|&p| self.patterns[p].compounds.iter().copied())
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The longest name or alias inside the address, the first of equals: (pattern, length,
    /// end) in bytes. A name or alias that is the whole address (exact) can only be the
    /// first, leftmost-longest, match.
    fn longest_match(&self, key: &str) -> Option<(usize, usize, usize)> {
        let mut best: Option<(usize, usize, usize)> = None;
        for m in self.ac.leftmost_find_iter(key) {
            let len = m.end() - m.start();
            if best.is_none_or(|(_, l, _)| len > l) {
                best = Some((m.value() as usize, len, m.end()));
            }
        }
        best
    }

    /// The one compound of several an address fits equally well that the evidence points to,
    /// narrowing step by step: the streets, then the communities the address names; then the
    /// export's [`Place`], its grid, community and street in that order; then, of those left,
    /// the one whose official name (not an alias) the match is. A step that fits none of those left is
    /// passed over (a renamed or mistyped grid must not overrule the rest); one that fits
    /// several narrows them for the next. A grid fits when equal; a community or street also
    /// when the export's value holds it (`东城街道办事处` holds `东城街道`). Values compare as
    /// address keys (full-width digits and letters folded, no whitespace).
    ///
    /// Returns the compound and the factor the choice lowers the match's confidence by.
    fn choose(
        &self,
        key: &str,
        candidates: &[usize],
        names: &[usize],
        place: &Place<'_>,
    ) -> Option<(usize, f64)> {
        let mut left = candidates.to_vec();
        // One pass over the address for all streets and communities, rather than a search
        // per candidate; the street first, then the community.
        let named: Vec<u32> = (self.areas.find_overlapping_iter(key))
            .map(|m| m.pattern().as_u32())
            .collect();
        if !named.is_empty() {
            for level in 0..2 {
                if let Some(c) = narrow(&mut left, |c| named.contains(&self.area_of[c][level])) {
                    return Some((c, 0.95));
                }
            }
        }
        if !place.is_empty() {
            let levels = [place.grid, place.community, place.street];
            for (level, value) in levels.into_iter().enumerate() {
                let value = address_key(value);
                if value.is_empty() {
                    continue;
                }
                if let Some(c) = narrow(&mut left, |c| self.fits(c, level, &value)) {
                    return Some((c, 0.95));
                }
            }
        }
        narrow(&mut left, |c| names.contains(&c)).map(|c| (c, 0.8))
    }

    /// Whether compound `c` fits the export's value (an address key) of place level `level`
    /// (0 grid, 1 community, 2 street): equal, or for a community or street held by it
    /// (`东城街道办事处` holds `东城街道`).
    fn fits(&self, c: usize, level: usize, value: &str) -> bool {
        let k = &*self.place_keys[c][level];
        !k.is_empty() && (k == value || (level > 0 && value.contains(k)))
    }

    /// Whether the export's place names a grid, community or street of the registry and
    /// compound `c` fits none of its values (a department, `区住建委`, names none: it says
    /// nothing against any compound).
    fn place_contradicts(&self, c: usize, place: &Place<'_>) -> bool {
        let levels = [place.grid, place.community, place.street].map(address_key);
        let names_a_place = |(level, v): (usize, &Cow<'_, str>)| match level {
            0 => self.grids.contains(&**v),
            _ => !v.is_empty() && self.areas.is_match(&**v),
        };
        (levels.iter().enumerate()).any(names_a_place)
            && !(levels.iter().enumerate()).any(|(l, v)| !v.is_empty() && self.fits(c, l, v))
    }

    /// A fuzzy match's compound that the export's place contradicts, looked at again: the
    /// names one edit from the address (`华府苑`: 华府名苑 at 0.75, 华府湾 at 0.67) may hold
    /// the one the place points to (华府湾, in the export's 龙泉街道), which is then taken.
    fn place_second_look(&self, key: &str, r: Resolution, place: &Place<'_>) -> Resolution {
        let Some(c) = r.compound else { return r };
        if r.method != MatchMethod::Fuzzy || !self.place_contradicts(c, place) {
            return r;
        }
        let cs: Vec<char> = key.chars().collect();
        let near = self.one_edit_names(&cs);
        let patterns: Vec<usize> = near.iter().map(|&(p, _)| p).collect();
        let mut candidates = self.compounds_of(&patterns);
        if !candidates.contains(&c) {
            candidates.push(c);
        }
        match self.choose(key, &candidates, &[], place) {
            Some((alt, confidence)) if alt != c => {
                let sim = (near.iter())
                    .filter(|&&(p, _)| self.patterns[p].compounds.contains(&alt))
                    .map(|&(_, sim)| sim)
                    .fold(0.0, f64::max);
                Resolution {
                    compound: Some(alt),
                    method: MatchMethod::Fuzzy,
                    score: sim * confidence,
                }
            }
            _ => r,
        }
    }

    /// Resolves an address key without its building number (`stem`, [`address_stem`]);
    /// `numbered` when the address had one, so the name is not the whole address.
    fn resolve_key(&self, key: &str, numbered: bool, place: &Place<'_>) -> Resolution {
        if let Some((pi, len, end)) = self.longest_match(key) {
            if len == key.len() && !numbered {
                return self.pick_pattern(key, pi, MatchMethod::Exact, 1.0, "", place);
            }
            // Two characters (`锦绣`, an abbreviation) inside a longer name are weak evidence:
            // `锦绣秀园` is more likely a typo of `锦绣雅园` than the compound called `锦绣`. A
            // longer name close enough to the address wins over them, unless a still longer
            // name that begins with it (`锦绣雅园北区`) is as close, whose typo the address
            // may as well be. An address that is the abbreviation and its building
            // (`锦绣8号楼`) is the abbreviation's. (Six bytes or fewer first: a cheap test
            // before the pattern is read.)
            if len <= 6 && len < key.len() && self.patterns[pi].chars.len() < MIN_FUZZY_CHARS {
                match self.fuzzy_best(key) {
                    Some((sim, tied)) => {
                        let cs: Vec<char> = key.chars().collect();
                        if tied.iter().all(|&p| !self.longer_as_close(&cs, p, sim)) {
                            return self.fuzzy_pick(key, sim, &tied, place);
                        }
                        if let Some(r) = self.place_decides(key, pi, sim, &tied, place) {
                            return r;
                        }
                    }
                    None => {
                        // `丽都秀` in the export's 和平街道: `丽都府` there, not the `丽都` elsewhere.
                        if let Some((sim, tied)) = self.one_typo(key, place) {
                            if let Some(r) = self.place_decides(key, pi, sim, &tied, place) {
                                return r;
                            }
                        }
                    }
                }
            }
            let method = if self.heads[pi].is_alias {
                MatchMethod::Alias
            } else {
                MatchMethod::Substring
            };
            // Most names end the address's stem: the pattern (a cache miss) is read only when
            // the name runs on.
            let rest = &key[end..];
            if !name_ends(rest)
                && self.patterns[pi].extended()
                && self.patterns[pi].chars.len() >= MIN_FUZZY_CHARS
            {
                if let Some(r) = self.extension(key, pi, rest, place) {
                    return r;
                }
            }
            return self.pick_pattern(key, pi, method, 0.95, rest, place);
        }
        self.fuzzy(key, place)
    }

    /// Pattern `p`'s characters, from the one array that holds them all.
    fn name(&self, p: usize) -> &[char] {
        &self.name_chars[self.name_at[p] as usize..self.name_at[p + 1] as usize]
    }

    /// Whether a longer name that begins with pattern `p` (`锦绣雅园二期`, of `锦绣雅园`) is
    /// at least as close to the address (`cs`) as `p` is (`sim`): the address may then be a
    /// typo of either.
    fn longer_as_close(&self, cs: &[char], p: usize, sim: f64) -> bool {
        let longer = p + 1..p + 1 + self.patterns[p].longer;
        // A name of n characters is at most len/n similar to a shorter address (n − len
        // of its characters are missing from it): most longer names are not compared.
        let longest = cs.len() as f64 / sim + 1e-9;
        (longer.filter(|&e| f64::from(self.lens[e]) <= longest + 1.0))
            .any(|e| best_window_similarity(cs, self.name(e), sim) >= sim - 1e-12)
    }

    /// Between an abbreviation (`丽都`, pattern `pi`) and the names an address is a typo of
    /// (`tied` at similarity `sim`: `丽都秀区` of `丽都小区`) when a longer name begins with
    /// one of those (`丽都小区五期`), so that the address may be a typo of it as well: the
    /// compound the export's place or the address's own street points to, when it is one of
    /// the names'. Otherwise `None`, and the abbreviation stands.
    fn place_decides(
        &self,
        key: &str,
        pi: usize,
        sim: f64,
        tied: &[usize],
        place: &Place<'_>,
    ) -> Option<Resolution> {
        let typo_of = self.compounds_of(tied);
        let mut both = typo_of.clone();
        both.extend(&self.patterns[pi].compounds);
        both.sort_unstable();
        both.dedup();
        let (c, confidence) = self.choose(key, &both, &[], place)?;
        (typo_of.contains(&c) && !self.patterns[pi].compounds.contains(&c)).then_some(Resolution {
            compound: Some(c),
            method: MatchMethod::Fuzzy,
            score: sim * confidence,
        })
    }

    /// Of the longer names that begin with pattern `pi` (they follow it in sorted order), the
    /// ones closest to the address from the match on, when within the fuzzy threshold: the
    /// address's name runs on past the match, and `华府小区七华` is one edit from the longer
    /// name `华府小区七期` where it is two characters more than `华府小区`. The similarity
    /// is that of the whole longer name; its tail is compared with the address's next
    /// characters, as many as the tail has ± 1.
    fn extension(&self, key: &str, pi: usize, rest: &str, place: &Place<'_>) -> Option<Resolution> {
        let head = &self.patterns[pi];
        let rest: Vec<char> = rest.chars().take(MAX_TAIL + 1).collect();
        let mut closest = Closest::default();
        let longer = (self.patterns.iter().enumerate()).skip(pi + 1);
        for (j, e) in longer.take(head.longer) {
            let tail = &e.chars[head.chars.len()..];
            // The largest distance that still reaches the floor bounds the table.
            let floor = closest.floor(self.fuzzy_threshold);
            let max_d = ((1.0 - floor) * e.chars.len() as f64 + 1e-9).floor() as usize;
            if let Some(d) = tail_distance(tail, &rest, max_d) {
                closest.offer(1.0 - d as f64 / e.chars.len() as f64, j);
            }
        }
        let (sim, tied) = closest.reaching(self.fuzzy_threshold)?;
        Some(self.fuzzy_pick(key, sim, &tied, place))
    }

    /// [`Registry::pick`] among the compounds of pattern `pi`; `rest` is the address after
    /// the match. Where the address's name runs on past the match ([`name_ends`] does not
    /// hold) and a longer name begins with it, the address may be a typo of that longer name
    /// (`华府小区七华`, `华府小区七期`), so a tie is left a tie: no street, place or official
    /// name can tell which of the candidates, if any, is meant.
    fn pick_pattern(
        &self,
        key: &str,
        pi: usize,
        method: MatchMethod,
        score: f64,
        rest: &str,
        place: &Place<'_>,
    ) -> Resolution {
        match self.heads[pi].only {
            u32::MAX => {
                let p = &self.patterns[pi];
                if p.extended() && !name_ends(rest) {
                    return Resolution {
                        compound: None,
                        method: MatchMethod::Ambiguous,
                        score: 0.0,
                    };
                }
                self.pick(key, &p.compounds, &p.names, method, score, place)
            }
            c => Resolution {
                compound: Some(c as usize),
                method,
                score,
            },
        }
    }

    /// The one compound of `candidates`, or the one [`Registry::choose`] chooses; else
    /// ambiguous. `names` are the candidates whose official name the match is.
    fn pick(
        &self,
        key: &str,
        candidates: &[usize],
        names: &[usize],
        method: MatchMethod,
        score: f64,
        place: &Place<'_>,
    ) -> Resolution {
        if candidates.len() == 1 {
            return Resolution {
                compound: Some(candidates[0]),
                method,
                score,
            };
        }
        match self.choose(key, candidates, names, place) {
            Some((c, confidence)) => Resolution {
                compound: Some(c),
                method,
                score: score * confidence,
            },
            None => Resolution {
                compound: None,
                method: MatchMethod::Ambiguous,
                score: 0.0,
            },
        }
    }

    fn fuzzy(&self, key: &str, place: &Place<'_>) -> Resolution {
        if let Some((sim, tied)) = self.fuzzy_best(key) {
            return self.fuzzy_pick(key, sim, &tied, place);
        }
        (self.one_typo(key, place))
            .and_then(|(sim, tied)| {
                let candidates = self.compounds_of(&tied);
                let (c, confidence) = self.choose(key, &candidates, &[], place)?;
                Some(Resolution {
                    compound: Some(c),
                    method: MatchMethod::Fuzzy,
                    score: sim * confidence,
                })
            })
            .unwrap_or(UNRESOLVED)
    }

    /// The names one character's edit from an address no name reaches the fuzzy threshold
    /// for (a name of three characters: `华园湾` is `和园湾` mistyped, similarity 0.67), with
    /// the best of their similarities — for the export's place to confirm: alone they are as
    /// likely another name's typo. `None` without a place.
    fn one_typo(&self, key: &str, place: &Place<'_>) -> Option<(f64, Vec<usize>)> {
        if place.is_empty() {
            return None;
        }
        let cs: Vec<char> = key.chars().collect();
        let near = self.one_edit_names(&cs);
        let sim = near.iter().map(|&(_, sim)| sim).fold(0.0, f64::max);
        (!near.is_empty()).then(|| (sim, near.into_iter().map(|(p, _)| p).collect()))
    }

    /// The best similarity at or above the threshold, and every pattern that reaches it.
    fn fuzzy_best(&self, key: &str) -> Option<(f64, Vec<usize>)> {
        self.fuzzy_best_at(key, self.fuzzy_threshold)
    }

    /// The names closest to an address no name fits: the compounds of the names at the
    /// best similarity at or above `floor`, and that similarity (below the fuzzy threshold,
    /// or the address would have resolved). For showing an analyst which alias may be
    /// missing (`阳光苑` is one character from `阳光城`, `阳光湾` and `阳光府`).
    pub fn nearest(&self, address: &str, floor: f64) -> Option<(f64, Vec<usize>)> {
        let key = address_key(address);
        let stem = address_stem(&key);
        (self.fuzzy_best_at(stem, floor)).map(|(sim, tied)| (sim, self.compounds_of(&tied)))
    }

    /// [`Registry::fuzzy_best`] at threshold `threshold`.
    fn fuzzy_best_at(&self, key: &str, threshold: f64) -> Option<(f64, Vec<usize>)> {
        let cs: Vec<char> = key.chars().collect();
        let mut closest = Closest::default();
        for (p, chars) in self.fuzzy_candidates(&cs) {
            // Exact at or above the floor; below it the cut-off leaves the windows early.
            let floor = closest.floor(threshold);
            closest.offer(best_window_similarity(&cs, chars, floor), p);
        }
        closest.reaching(threshold)
    }

    /// Every candidate name one edit from the address (`cs`), whatever its similarity,
    /// with that similarity.
    fn one_edit_names(&self, cs: &[char]) -> Vec<(usize, f64)> {
        (self.fuzzy_candidates(cs).into_iter())
            .filter_map(|(p, chars)| {
                let one_edit = 1.0 - 1.0 / chars.len() as f64;
                let sim = best_window_similarity(cs, chars, one_edit);
                (sim >= one_edit - 1e-12).then_some((p, sim))
            })
            .collect()
    }

    /// The names the fuzzy match compares with an address (`cs`): those that share the most
    /// of its pairs (see below), best first, with their characters.
    fn fuzzy_candidates<'s>(&'s self, cs: &[char]) -> Vec<(usize, &'s [char])> {
        // A name of two characters is found whole by the automaton or not at all: one edit
        // leaves half of it.
        let long = |p: u32| usize::from(self.lens[p as usize]) >= MIN_FUZZY_CHARS;
        // The patterns that share the address's grams, rarest grams first, until VOTE_BUDGET
        // postings are counted: a rare gram says more, and a common one (`小区`, `五期`, the
        // digits of a phase's number) would cost a vote for hundreds of names.
        let mut lists: Vec<&[u32]> = (grams(cs).filter_map(|g| self.postings.get(&g)))
            .map(Vec::as_slice)
            .collect();
        lists.sort_unstable_by_key(|l| l.len());
        let mut used = 0;
        let lists = lists.into_iter().take_while(|l| {
            used += l.len();
            used == l.len() || used <= VOTE_BUDGET
        });
        // One vote per shared gram, counted in this thread's counters (zero between calls).
        // Ranked by one integer each: most votes first; of as many votes, the nearest in
        // length to the address (`华方家园二期` is `东方家园二期` mistyped, not `东方家园一期`
        // or `东方家园`); then by pattern.
        let rank = |p: u32, votes: u16| {
            let gap = u64::from(self.lens[p as usize])
                .abs_diff(cs.len() as u64)
                .min(255);
            (u64::from(u16::MAX - votes) << 40) | (gap << 32) | u64::from(p)
        };
        let mut cands: Vec<u64> = VOTES.with_borrow_mut(|(counts, touched)| {
            if counts.len() < self.patterns.len() {
                counts.resize(self.patterns.len(), 0);
            }
            touched.clear();
            for ps in lists {
                for &p in ps {
                    let n = &mut counts[p as usize];
                    if *n == 0 {
                        touched.push(p);
                    }
                    *n = n.saturating_add(1);
                }
            }
            (touched.iter().copied())
                .map(|p| (p, std::mem::take(&mut counts[p as usize])))
                .filter(|&(p, _)| long(p))
                .map(|(p, votes)| rank(p, votes))
                .collect()
        });
        if cands.len() > FUZZY_CANDIDATES {
            cands.select_nth_unstable(FUZZY_CANDIDATES - 1);
            cands.truncate(FUZZY_CANDIDATES);
        }
        cands.sort_unstable();
        let names: Vec<(usize, &[char])> = (cands.into_iter())
            .map(|c| {
                let p = c as u32 as usize;
                (p, self.name(p))
            })
            .collect();
        // The names are far apart in memory: all of them are fetched at once, not one miss
        // after another.
        for (_, chars) in &names {
            if let (Some(first), Some(last)) = (chars.first(), chars.last()) {
                prefetch(first);
                prefetch(last);
            }
        }
        names
    }

    /// The compound of the patterns `tied` at similarity `sim`.
    fn fuzzy_pick(&self, key: &str, sim: f64, tied: &[usize], place: &Place<'_>) -> Resolution {
        // Names equally close are chosen among like the compounds of one shared name (the
        // same compound reached by its name and an alias is one candidate).
        let r = match tied[..] {
            [p] => {
                let p = &self.patterns[p];
                let names = if p.extended() { &[][..] } else { &p.names };
                self.pick(key, &p.compounds, names, MatchMethod::Fuzzy, sim, place)
            }
            _ => {
                let candidates = self.compounds_of(tied);
                self.pick(key, &candidates, &[], MatchMethod::Fuzzy, sim, place)
            }
        };
        if r.method == MatchMethod::Ambiguous {
            r
        } else {
            self.place_second_look(key, Resolution { score: sim, ..r }, place)
        }
    }
}

/// Starts fetching the cache line that holds `x` (a no-op off x86-64).
fn prefetch<T>(x: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: a prefetch only hints the cache; it reads nothing the program sees and
        // cannot fault, and the address is that of a live value besides.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(std::ptr::from_ref(x).cast::<i8>()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = x;
}

/// The resolution of an address that names nothing.
const UNRESOLVED: Resolution = Resolution {
    compound: None,
    method: MatchMethod::Unresolved,
    score: 0.0,
};

thread_local! {
    /// Per-thread scratch of [`Registry::fuzzy_best`]: a vote counter per pattern, zero
    /// between calls, and the patterns voted for in the order of their first vote (kept for
    /// its capacity): no sort of every vote.
    static VOTES: std::cell::RefCell<(Vec<u16>, Vec<u32>)> =
        const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
}

/// What the fuzzy match indexes names by: two characters side by side, or with one between
/// (the third flag) — a typo in the middle of `金色名苑` (`金苑名苑`) leaves `金_名` whole.
type Gram = (char, char, bool);

/// The grams of a name or address.
fn grams(cs: &[char]) -> impl Iterator<Item = Gram> + '_ {
    let adjacent = cs.windows(2).map(|w| (w[0], w[1], false));
    adjacent.chain(cs.windows(3).map(|w| (w[0], w[2], true)))
}

/// The most postings an address's grams may add votes for (the rarest grams first; the
/// rarest is always counted): what a fuzzy match may cost. On the large demo city (20,020
/// names) with eight candidates, 256 left 2,404 records wrong, 512 left 895, 1,024 and
/// 2,048 left 646.
const VOTE_BUDGET: usize = 1024;

/// How many of the candidates with the most votes are compared with the address. (On the
/// large demo city, 8 left 646 records wrong that 16 leaves 205; 32 changed little more.)
const FUZZY_CANDIDATES: usize = 16;

/// The fewest characters a name or alias needs to be matched fuzzily, and to be more than
/// weak evidence when found inside a longer name.
const MIN_FUZZY_CHARS: usize = 3;

/// The best similarity offered so far and every pattern that reached it.
#[derive(Default)]
struct Closest {
    sim: f64,
    tied: Vec<usize>,
}

impl Closest {
    /// The least similarity that can still matter: at least the best so far (a tie counts)
    /// and the threshold.
    fn floor(&self, threshold: f64) -> f64 {
        match self.tied[..] {
            [] => threshold,
            _ => self.sim.max(threshold),
        }
    }

    fn offer(&mut self, sim: f64, pattern: usize) {
        if self.tied.is_empty() || sim > self.sim + 1e-12 {
            self.sim = sim;
            self.tied.clear();
            self.tied.push(pattern);
        } else if (sim - self.sim).abs() < 1e-12 {
            self.tied.push(pattern);
        }
    }

    /// The best similarity and its patterns, if it reaches the threshold.
    fn reaching(self, threshold: f64) -> Option<(f64, Vec<usize>)> {
        (!self.tied.is_empty() && self.sim >= threshold).then_some((self.sim, self.tied))
    }
}

/// The longest name tail [`Registry::extension`] compares.
const MAX_TAIL: usize = 15;

/// The least edit distance between `tail` and the first `tail.len()` ± 1 characters of
/// `text` (one table: after `L` characters of the text its last cell is the distance of that
/// prefix), when at most `max_d`; `None` when more (the table stops once a row's minimum
/// exceeds it, as no later row falls below it), for an empty or overlong tail, or a text
/// shorter than that.
fn tail_distance(tail: &[char], text: &[char], max_d: usize) -> Option<usize> {
    let n = tail.len();
    if n == 0 || n > MAX_TAIL || text.len() + 1 < n {
        return None;
    }
    let mut prev = [0usize; MAX_TAIL + 1];
    let mut cur = [0usize; MAX_TAIL + 1];
    for (j, p) in prev.iter_mut().enumerate().take(n + 1) {
        *p = j;
    }
    let mut best = usize::MAX;
    for (i, ca) in text.iter().take(n + 1).enumerate() {
        cur[0] = i + 1;
        let mut row_min = cur[0];
        for (j, cb) in tail.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
            row_min = row_min.min(cur[j + 1]);
        }
        std::mem::swap(&mut prev, &mut cur);
        if i + 2 >= n {
            best = best.min(prev[n]);
        }
        if row_min > max_d {
            break;
        }
    }
    (best <= max_d).then_some(best)
}

/// Whether an address's name ends where `rest` (the address after a match) begins: nothing
/// follows, or a building number, in digits or Chinese numerals (`3号楼`, `12-1201`, `三号楼`,
/// `十二栋`, a bare `5`), or a gate or landmark (`北门`, `门口`, `对面`, `小区`); but `七期`,
/// `七华` and `7景57区` run on.
fn name_ends(rest: &str) -> bool {
    const NUMERALS: &str = "〇零一二两三四五六七八九十百";
    const UNITS: [&str; 8] = ["号", "栋", "幢", "座", "单元", "楼", "室", "层"];
    const LANDMARKS: [&str; 13] = [
        "东门", "西门", "南门", "北门", "大门", "正门", "侧门", "后门", "门口", "对面", "旁边",
        "附近", "小区",
    ];
    let after = rest.trim_start_matches(|c: char| c.is_ascii_digit() || NUMERALS.contains(c));
    rest.is_empty()
        || LANDMARKS.iter().any(|l| rest.starts_with(l))
        || (after.len() < rest.len()
            && (after.is_empty()
                || after.starts_with(['-', '#'])
                || UNITS.iter().any(|u| after.starts_with(u))))
}

/// Keeps the candidates that fit, if any do, and returns the one when only one does.
fn narrow(left: &mut Vec<usize>, fits: impl Fn(usize) -> bool) -> Option<usize> {
    let fit: Vec<usize> = left.iter().copied().filter(|&c| fits(c)).collect();
    match fit[..] {
        [c] => Some(c),
        [] => None,
        _ => {
            *left = fit;
            None
        }
    }
}

/// Best `1 − distance / len(pattern)` over windows of the text of the pattern's length ± 1
/// (or the whole text when it is shorter than that): exact when it is at least `floor`,
/// otherwise some value below `floor`.
///
/// One edit-distance table per window start: after `L` characters of the text its last cell
/// is the distance of the window of length `L`, so the three lengths come from one pass
/// (the values are exactly those of three separate [`levenshtein`] calls). A row's minimum
/// never falls in later rows, so once it exceeds the largest distance that still reaches
/// `floor`, no longer window from that start can, and the start is left (Ukkonen's cut-off).
fn best_window_similarity(text: &[char], pat: &[char], floor: f64) -> f64 {
    let n = pat.len();
    if n == 0 {
        return 0.0;
    }
    let sim = |d: usize| 1.0 - d as f64 / n as f64;
    // The largest distance whose similarity reaches `floor` (similarity falls with distance).
    let max_d = (0..=n + 1).take_while(|&d| sim(d) >= floor).last();
    // No window is nearer than the nearest of all the text's substrings: when even that is
    // beyond `max_d` (most of the candidates compared), no window reaches `floor`, and the
    // tables below are not built. One pass of 64-bit words instead of a table per start.
    if let (Some(k), Some(d)) = (max_d, nearest_substring_distance(text, pat)) {
        if d > k {
            return sim(d);
        }
    }
    let wanted = |len: usize| len >= 1 && len + 1 >= n && len <= n + 1;
    let short = text.len() < n.saturating_sub(1);
    let mut prev: Vec<usize> = Vec::with_capacity(n + 1);
    let mut cur: Vec<usize> = vec![0; n + 1];
    let mut best = 0.0f64;
    for start in 0..text.len() {
        let longest = (text.len() - start).min(n + 1);
        let has_window = longest + 1 >= n && longest >= 1;
        let whole_short_text = short && start == 0;
        if !(has_window || whole_short_text) {
            break; // every later start is shorter still
        }
        prev.clear();
        prev.extend(0..=n);
        for (i, ca) in text[start..start + longest].iter().enumerate() {
            cur[0] = i + 1;
            let mut row_min = cur[0];
            for (j, cb) in pat.iter().enumerate() {
                let v = (prev[j] + usize::from(ca != cb))
                    .min(prev[j + 1] + 1)
                    .min(cur[j] + 1);
                cur[j + 1] = v;
                row_min = row_min.min(v);
            }
            std::mem::swap(&mut prev, &mut cur);
            let len = i + 1;
            if wanted(len) || (whole_short_text && len == text.len()) {
                best = best.max(sim(prev[n]));
            }
            if max_d.is_none_or(|k| row_min > k) {
                break;
            }
        }
    }
    best
}

/// The least edit distance between `pat` and any substring of `text` (the empty one
/// included), by Myers' bit-parallel algorithm (1999): the pattern's column of the
/// approximate-matching table is kept as vertical deltas in two words, one text character
/// a step. `None` for a pattern longer than 64 characters.
fn nearest_substring_distance(text: &[char], pat: &[char]) -> Option<usize> {
    let m = pat.len();
    if m > 64 {
        return None;
    }
    if m == 0 {
        return Some(0);
    }
    let last = 1u64 << (m - 1);
    // Vertical deltas +1 everywhere: the first column is 0, 1, …, m.
    let (mut pv, mut mv) = (u64::MAX, 0u64);
    let (mut score, mut best) = (m, m);
    for &c in text {
        let eq = (pat.iter().enumerate())
            .filter(|&(_, &p)| p == c)
            .fold(0u64, |e, (i, _)| e | 1 << i);
        let xv = eq | mv;
        let xh = ((eq & pv).wrapping_add(pv) ^ pv) | eq;
        let ph = mv | !(xh | pv);
        let mh = pv & xh;
        if ph & last != 0 {
            score += 1;
        } else if mh & last != 0 {
            score -= 1;
        }
        // The table's top row is 0 at every text position (a match may start anywhere), so
        // no horizontal delta enters from above.
        let (ph, mh) = (ph << 1, mh << 1);
        pv = mh | !(xv | ph);
        mv = ph & xv;
        best = best.min(score);
    }
    Some(best)
}

#[cfg(test)]
fn levenshtein(a: &[char], b: &[char]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// One second-level category of the taxonomy.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Category {
    /// First level (4 of them).
    pub l1: String,
    /// Second level.
    pub l2: String,
    /// Names real exports use for it (`|`-separated).
    pub aliases: String,
}

/// The taxonomy with alias lookup.
#[derive(Debug)]
pub struct Taxonomy {
    /// All categories.
    pub categories: Vec<Category>,
    /// Address key of every name a category is known by → its index (looked up for every
    /// row: foldhash, not SipHash).
    lookup: HashMap<String, usize, FixedState>,
}

impl Taxonomy {
    /// Loads `taxonomy.csv`.
    ///
    /// # Errors
    /// Unreadable file or a bad row.
    pub fn load(path: &Path) -> Result<Taxonomy> {
        Ok(Taxonomy::new(read_reference_csv(path)?))
    }

    /// The names of the categories (l2) and their aliases: the district's words for its
    /// problems (`私搭乱建`, `占道经营`).
    pub fn terms(&self) -> impl Iterator<Item = &str> {
        (self.categories.iter())
            .flat_map(|c| std::iter::once(c.l2.as_str()).chain(c.aliases.split('|')))
            .map(str::trim)
            .filter(|t| !t.is_empty())
    }

    /// Builds the lookup: l2, aliases and `l1-l2` / `l1/l2` forms.
    pub fn new(categories: Vec<Category>) -> Taxonomy {
        let mut lookup = HashMap::default();
        for (i, c) in categories.iter().enumerate() {
            let mut keys = vec![
                c.l2.clone(),
                format!("{}-{}", c.l1, c.l2),
                format!("{}/{}", c.l1, c.l2),
            ];
            keys.extend(
                c.aliases
                    .split('|')
                    .filter(|a| !a.trim().is_empty())
                    .map(str::to_owned),
            );
            for k in keys {
                lookup.entry(address_key(&k).into_owned()).or_insert(i);
            }
        }
        Taxonomy { categories, lookup }
    }

    /// The category for an export's label, if known.
    pub fn lookup(&self, label: &str) -> Option<&Category> {
        self.lookup
            .get(address_key(label).as_ref())
            .map(|&i| &self.categories[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A registry saved by Excel as GBK or as UTF-8 with a BOM reads as the plain UTF-8 file
    /// does, and so does a lexicon; bytes that are neither are an error naming the file.
    #[test]
    fn a_registry_saved_by_excel_reads_in_either_encoding() {
        let text = "compound_id,name,aliases,street,community,grid,households,population,type,\
                    property_company,lon,lat,year_built\n\
                    C1,阳光花园,建设路12号|阳光花园一期,东城街道,东城1社区,G1,800,2000,商品房,万家物业,\
                    116.4,39.9,2005\n";
        let dir = tempfile::tempdir().unwrap();
        let read = |bytes: &[u8]| {
            let p = dir.path().join("compounds.csv");
            std::fs::write(&p, bytes).unwrap();
            read_reference_csv::<Compound>(&p)
        };
        let plain = read(text.as_bytes()).unwrap();
        assert_eq!(plain[0].name, "阳光花园");
        let gbk = encoding_rs::GBK.encode(text).0.into_owned();
        let bom = [&[0xEF, 0xBB, 0xBF][..], text.as_bytes()].concat();
        for bytes in [gbk, bom] {
            let got = read(&bytes).unwrap();
            assert_eq!(
                serde_json::to_string(&got).unwrap(),
                serde_json::to_string(&plain).unwrap()
            );
        }
        let e = read(&[0x81, 0x20, 0xFF, 0xFF]).unwrap_err().to_string();
        assert!(e.contains("compounds.csv"), "{e}");
        // A district's own registry: only the columns it needs, blanks where it has none.
        let lean = read(
            "compound_id,name,street,population,households,lon\nC9,幸福里,东城街道,700,,\n"
                .as_bytes(),
        )
        .unwrap();
        let c = &lean[0];
        assert_eq!(
            (c.name.as_str(), c.population, c.households),
            ("幸福里", 700, 0)
        );
        assert_eq!((c.lon, c.lat, c.year_built), (None, None, None));
        assert_eq!((c.aliases.as_str(), c.grid.as_str()), ("", ""));
        let e = read("compound_id,name,street\nC9,幸福里,东城街道\n".as_bytes())
            .unwrap_err()
            .to_string();
        assert!(e.contains("population"), "{e}");
        // A lexicon saved by Notepad with a mark: its first phrase has no mark in front.
        let p = dir.path().join("lexicon.txt");
        for bytes in [
            [&[0xEF, 0xBB, 0xBF][..], "集体上访\n维权\n".as_bytes()].concat(),
            encoding_rs::GBK.encode("集体上访\n维权\n").0.into_owned(),
        ] {
            std::fs::write(&p, bytes).unwrap();
            assert_eq!(read_text(&p).unwrap(), "集体上访\n维权\n");
        }
    }

    /// The definition: every window of length n − 1, n, n + 1 scored on its own.
    fn windows_one_by_one(text: &[char], pat: &[char]) -> f64 {
        let n = pat.len();
        if n == 0 {
            return 0.0;
        }
        let mut best = 0.0f64;
        for len in [n.saturating_sub(1), n, n + 1] {
            if len == 0 || len > text.len() {
                continue;
            }
            for start in 0..=text.len() - len {
                let d = levenshtein(&text[start..start + len], pat);
                best = best.max(1.0 - d as f64 / n as f64);
            }
        }
        if text.len() < n.saturating_sub(1) {
            best = best.max(1.0 - levenshtein(text, pat) as f64 / n as f64);
        }
        best
    }

    proptest::proptest! {
        /// Any address and place an export can hold resolves without a panic, to a compound
        /// with a confidence in (0, 1] or to none with 0, and an empty place is no place.
        #[test]
        fn any_address_resolves_to_a_compound_or_none(
            address in "[丽都府小区五期华园湾秀苑和景1-9号楼单元路 ]{0,14}",
            street in proptest::sample::select(vec!["", "东城街道", "西湖街道办事处", "青山街道", "区住建委"]),
        ) {
            let r = registry_of(
                &[
                    ["C1", "丽都府", "", "东城街道"],
                    ["C2", "丽都小区", "", "西湖街道"],
                    ["C3", "丽都小区五期", "丽都", "青山街道"],
                    ["C4", "和园湾", "中山路9号", "东城街道"],
                    ["C5", "华园湾", "", "西湖街道"],
                    ["C6", "华府名苑", "", "青山街道"],
                ],
                0.75,
            );
            let x = r.resolve_in(&address, &in_street(street));
            match x.compound {
                Some(_) => proptest::prop_assert!(x.score > 0.0 && x.score <= 1.0, "{x:?}"),
                None => proptest::prop_assert_eq!(x.score, 0.0),
            }
            // Without a place, a resolution never depends on one.
            let bare = r.resolve(&address);
            if street.is_empty() {
                proptest::prop_assert_eq!(bare.compound, x.compound);
            }
        }

        #[test]
        fn tail_distance_is_the_least_over_its_windows(
            tail in "[ab期区]{0,5}",
            text in "[ab期区1]{0,8}",
        ) {
            let (tail, text): (Vec<char>, Vec<char>) = (tail.chars().collect(), text.chars().collect());
            let n = tail.len();
            let want = (n.saturating_sub(1).max(1)..=n + 1)
                .filter(|&l| l <= text.len())
                .map(|l| levenshtein(&tail, &text[..l]))
                .min()
                .filter(|_| n > 0);
            // exact at or under the bound, nothing over it
            for max_d in 0..4 {
                let got = tail_distance(&tail, &text, max_d);
                proptest::prop_assert_eq!(got, want.filter(|&d| d <= max_d), "max_d {}", max_d);
            }
        }

        #[test]
        fn bit_parallel_distance_is_the_nearest_substrings(
            text in "[甲乙丙丁a1]{0,16}",
            pat in "[甲乙丙丁a1]{0,10}",
        ) {
            let (t, p): (Vec<char>, Vec<char>) = (text.chars().collect(), pat.chars().collect());
            let want = (0..=t.len())
                .flat_map(|i| (i..=t.len()).map(move |j| (i, j)))
                .map(|(i, j)| levenshtein(&t[i..j], &p))
                .min();
            proptest::prop_assert_eq!(nearest_substring_distance(&t, &p), want);
        }

        #[test]
        fn one_pass_windows_equal_the_definition(
            text in "[甲乙丙丁a1]{0,14}",
            pat in "[甲乙丙丁a1]{0,8}",
            floor in proptest::sample::select(vec![f64::NEG_INFINITY, 0.0, 0.5, 0.75, 0.8, 1.0]),
        ) {
            let (t, p): (Vec<char>, Vec<char>) = (text.chars().collect(), pat.chars().collect());
            let want = windows_one_by_one(&t, &p);
            let got = best_window_similarity(&t, &p, floor);
            if want >= floor {
                proptest::prop_assert_eq!(got, want);
            } else {
                proptest::prop_assert!(got < floor, "{got} for {want} under {floor}");
            }
        }
    }

    /// The compound id and method `r` resolves `address` to, with no place.
    fn resolved<'r>(r: &'r Registry, address: &str) -> (Option<&'r str>, MatchMethod) {
        resolved_in(r, address, "")
    }

    /// [`resolved`] with the export's street.
    fn resolved_in<'r>(
        r: &'r Registry,
        address: &str,
        street: &str,
    ) -> (Option<&'r str>, MatchMethod) {
        let x = r.resolve_in(address, &in_street(street));
        let id = x.compound.map(|i| r.compounds[i].compound_id.as_str());
        (id, x.method)
    }

    /// A place the export gives by its street only.
    fn in_street(street: &str) -> Place<'_> {
        Place {
            street,
            ..Place::default()
        }
    }

    fn c(id: &str, name: &str, aliases: &str, street: &str) -> Compound {
        Compound {
            compound_id: id.into(),
            name: name.into(),
            aliases: aliases.into(),
            street: street.into(),
            community: "c".into(),
            grid: "g".into(),
            households: 500,
            population: 1200,
            kind: "商品房".into(),
            property_company: "p".into(),
            lon: None,
            lat: None,
            year_built: None,
        }
    }

    /// A registry of compounds given as `[id, name, aliases, street]`.
    fn registry_of(rows: &[[&str; 4]], fuzzy_threshold: f64) -> Registry {
        let compounds = rows
            .iter()
            .map(|&[id, name, aliases, street]| c(id, name, aliases, street));
        Registry::new(compounds.collect(), fuzzy_threshold).unwrap()
    }

    fn reg() -> Registry {
        registry_of(
            &[
                ["C1", "阳光花园", "阳光花园一期|建设路12号", "东城街道"],
                ["C2", "阳光花园二期", "建设路14号", "东城街道"],
                ["C3", "幸福里", "", "东城街道"],
                ["C4", "幸福里", "", "西湖街道"],
                ["C5", "锦绣江南", "锦绣", "西湖街道"],
                // one street's name inside another's
                ["C6", "和园", "", "南湖街道"],
                ["C7", "和园", "", "湖街道"],
                ["C8", "和园", "", "北岸街道"],
            ],
            0.75,
        )
    }

    #[test]
    fn the_exports_place_breaks_a_tie_the_address_leaves() {
        let mut compounds = reg().compounds;
        // 幸福里 in two streets; in 西湖街道 two compounds share the alias 幸福小区.
        compounds[2].community = "东城1社区".into();
        compounds[2].grid = "G01".into();
        compounds[3].community = "西湖2社区".into();
        compounds[3].grid = "G07".into();
        compounds[3].aliases = "幸福小区".into();
        compounds[4].aliases = "锦绣|幸福小区".into();
        compounds[4].community = "西湖3社区".into();
        compounds[4].grid = "G08".into();
        let r = Registry::new(compounds, 0.75).unwrap();
        // (address, street, community, grid) → compound, or none when still ambiguous
        let cases = [
            ("幸福里3号楼", "", "", "", None),
            ("幸福里3号楼", "西湖街道", "", "", Some("C4")),
            // a handling unit's name holds its street; full-width and spaces fold
            ("幸福里3号楼", "东城街道办事处", "", "", Some("C3")),
            ("幸福里3号楼", "", " 东城１社区 ", "", Some("C3")),
            ("幸福里3号楼", "", "", "G07", Some("C4")),
            // the grid comes first; a grid that fits no candidate is passed over
            ("幸福里3号楼", "东城街道", "", "G07", Some("C4")),
            ("幸福里3号楼", "东城街道", "", "G99", Some("C3")),
            // a grid is equal or nothing: G0 is not G07
            ("幸福里3号楼", "", "", "G0", None),
            // a street named in the address still wins over the export's columns
            ("东城街道幸福里", "", "", "G07", Some("C3")),
            // one street fits both: narrowed, then the community decides
            ("幸福小区5栋", "西湖街道", "", "", None),
            ("幸福小区5栋", "西湖街道", "西湖3社区", "", Some("C5")),
            // a community the address names, like a street it names
            ("东城１社区幸福里3号楼", "", "", "", Some("C3")),
            ("西湖3社区幸福小区5栋", "", "", "", Some("C5")),
            // a place that fits neither leaves it ambiguous
            ("幸福小区5栋", "北岸街道", "", "G01", None),
        ];
        for (address, street, community, grid, want) in cases {
            let place = Place {
                street,
                community,
                grid,
            };
            let x = r.resolve_in(address, &place);
            let got = x.compound.map(|i| r.compounds[i].compound_id.as_str());
            assert_eq!(got, want, "{address} in {place:?}");
            let method = match (want, address.contains("幸福小区")) {
                (None, _) => MatchMethod::Ambiguous,
                (Some(_), true) => MatchMethod::Alias,
                (Some(_), false) => MatchMethod::Substring,
            };
            assert_eq!(x.method, method, "{address} in {place:?}");
        }
    }

    #[test]
    fn each_piece_of_evidence_narrows_the_candidates_for_the_next() {
        // 桂园小区 is one compound's official name and two others' alias.
        let mut compounds = vec![
            c("C1", "桂园小区", "黄河路34号", "北岸街道"),
            c("C2", "桂园湾", "桂园小区", "北岸街道"),
            c("C3", "桂园雅居", "桂园小区", "南湖街道"),
        ];
        for (x, grid) in compounds.iter_mut().zip(["G04", "G11", "G11"]) {
            x.grid = grid.into();
        }
        let r = Registry::new(compounds, 0.75).unwrap();
        let id = |a: &str, grid: &str| {
            let x = r.resolve_in(
                a,
                &Place {
                    grid,
                    ..Place::default()
                },
            );
            (
                x.compound.map(|i| r.compounds[i].compound_id.as_str()),
                x.score,
            )
        };
        // nothing else known: the compound whose name it is, with less confidence
        assert_eq!(id("桂园小区", ""), (Some("C1"), 0.8));
        assert_eq!(id("桂园小区3号楼", ""), (Some("C1"), 0.95 * 0.8));
        // the grid goes before the name
        assert_eq!(id("桂园小区3号楼", "G11").0, None);
        // the address's street leaves C1 and C2, the grid then C2
        assert_eq!(
            id("北岸街道桂园小区3号楼", "G11"),
            (Some("C2"), 0.95 * 0.95)
        );
        assert_eq!(id("南湖街道桂园小区", "G04"), (Some("C3"), 0.95 * 0.95));
    }

    #[test]
    fn a_name_that_runs_on_may_be_a_typo_of_a_longer_one() {
        let r = registry_of(
            &[
                ["C1", "华府小区", "", "东城街道"],
                ["C2", "华府公寓", "华府小区", "西湖街道"],
                ["C3", "华府小区七期", "", "南湖街道"],
                ["C4", "锦绣雅园", "", "东城街道"],
                ["C5", "锦绣城八期", "锦绣", "西湖街道"],
                ["C6", "滨河花园", "", "东城街道"],
                ["C7", "滨河花园五期", "", "西湖街道"],
                ["C8", "滨河湾", "滨河", "南湖街道"],
                ["C9", "华府小区七期7257区", "", "北岸街道"],
                ["C10", "华府小区北区", "", "北岸街道"],
            ],
            0.75,
        );
        let id = |a: &str| resolved(&r, a);
        // the official name, where the building follows it
        assert_eq!(id("华府小区4号楼"), (Some("C1"), MatchMethod::Substring));
        // not where the address runs on: 七华 is one edit from the longer name's 七期
        assert_eq!(id("华府小区七华4号楼"), (Some("C3"), MatchMethod::Fuzzy));
        // a gate ends the name: the official name, not a longer name's tail (北门 is one edit
        // from 北区)
        assert_eq!(id("华府小区东门"), (Some("C1"), MatchMethod::Substring));
        assert_eq!(
            id("华府小区北门3号楼"),
            (Some("C1"), MatchMethod::Substring)
        );
        // a number that is part of the name runs on too: 7257区 typed 7景57区
        assert_eq!(
            id("华府小区七期7景57区3号楼"),
            (Some("C9"), MatchMethod::Fuzzy)
        );
        // a building number in Chinese numerals ends the name too
        assert_eq!(id("华府小区七号楼"), (Some("C1"), MatchMethod::Substring));
        assert_eq!(
            id("华府小区十二栋3单元"),
            (Some("C1"), MatchMethod::Substring)
        );
        // a two-character abbreviation gives way to a longer name one edit away…
        assert_eq!(id("锦绣秀园8号楼"), (Some("C4"), MatchMethod::Fuzzy));
        assert_eq!(id("锦绣8号楼"), (Some("C5"), MatchMethod::Alias));
        // (here the longer name is the typo's whole name)…
        assert_eq!(id("滨河花秀五期3号楼"), (Some("C7"), MatchMethod::Fuzzy));
        // …and to a name a still longer one begins with, as when typed right (`滨河花园3号楼`
        // is 滨河花园's, not 滨河花园五期's)…
        assert_eq!(id("滨河花秀3号楼"), (Some("C6"), MatchMethod::Fuzzy));
        assert_eq!(id("滨河花园3号楼"), (Some("C6"), MatchMethod::Substring));
        // …unless a longer name is as close: `锦绣雅秀北区二` is one edit from 锦绣雅园's
        // window and two from the eight characters of 锦绣雅园北区二期 (0.75 both), and the
        // abbreviation stands — unless the export's place points to one of the names
        let r = registry_of(
            &[
                ["C1", "锦绣雅园", "", "东城街道"],
                ["C2", "锦绣雅园北区二期", "", "南湖街道"],
                ["C3", "锦绣城八期", "锦绣", "西湖街道"],
            ],
            0.75,
        );
        let at = |street| resolved_in(&r, "锦绣雅秀北区二8号楼", street);
        assert_eq!(at(""), (Some("C3"), MatchMethod::Alias));
        assert_eq!(at("东城街道"), (Some("C1"), MatchMethod::Fuzzy));
        assert_eq!(at("南湖街道"), (Some("C2"), MatchMethod::Fuzzy));
        assert_eq!(at("西湖街道"), (Some("C3"), MatchMethod::Alias));
    }

    #[test]
    fn names_equally_close_to_a_typo_are_chosen_among() {
        let r = registry_of(
            &[
                ["C1", "锦绣公寓", "", "东城街道"],
                ["C2", "锦绣花园", "", "西湖街道"],
                // one compound reached by its name and its alias is one candidate
                ["C3", "金色港湾", "金色海湾", "南湖街道"],
            ],
            0.7,
        );
        let id = |a: &str| resolved(&r, a);
        // 锦绣公园: one character from both 锦绣公寓 and 锦绣花园
        assert_eq!(id("锦绣公园3栋"), (None, MatchMethod::Ambiguous));
        assert_eq!(id("西湖街道锦绣公园3栋"), (Some("C2"), MatchMethod::Fuzzy));
        let x = r.resolve_in(
            "锦绣公园3栋",
            &Place {
                street: "东城街道",
                ..Place::default()
            },
        );
        assert_eq!(x.compound, Some(0));
        assert_eq!(x.method, MatchMethod::Fuzzy);
        assert!((x.score - 0.75).abs() < 1e-12, "{}", x.score);
        // 金色X湾: as close to the name as to the alias, both C3's
        assert_eq!(id("金色江湾2栋"), (Some("C3"), MatchMethod::Fuzzy));
    }

    #[test]
    fn packed_labels_are_each_compounds_own() {
        let mut compounds = reg().compounds;
        compounds[2].community = String::new(); // an empty label between two others
        compounds[3].grid = "网格七".into();
        // too long for a cache line with the others: read from the compound
        compounds[4].community = "很长的社区名称".repeat(3);
        let r = Registry::new(compounds, 0.75).unwrap();
        assert!(usize::from(r.label_lines[4].ends[3]) > r.label_lines[4].bytes.len());
        assert!(usize::from(r.label_lines[3].ends[3]) <= r.label_lines[3].bytes.len());
        for (i, c) in r.compounds.iter().enumerate() {
            let want = Labels {
                id: &c.compound_id,
                street: &c.street,
                community: &c.community,
                grid: &c.grid,
            };
            assert_eq!(r.labels(i), want);
        }
    }

    #[test]
    fn an_unresolved_address_is_shown_the_nearest_names() {
        let r = reg();
        // Half of `阳光花园`'s characters: below the threshold, so unresolved, but nearest
        // (its phases, longer, are farther).
        assert_eq!(resolved(&r, "阳光河北5栋"), (None, MatchMethod::Unresolved));
        let (sim, near) = r.nearest("阳光河北5栋", 0.5).unwrap();
        assert_eq!(sim, 0.5);
        let ids: Vec<&str> = near.iter().map(|&c| &*r.compounds[c].compound_id).collect();
        assert_eq!(ids, ["C1"]);
        // Nothing near enough, nothing.
        assert_eq!(r.nearest("阳光河北5栋", 0.6), None);
        assert_eq!(r.nearest("人民医院门口", 0.5), None);
    }

    #[test]
    fn a_building_number_names_no_compound() {
        let r = reg();
        let tailed = "21号楼3单元";
        for a in [
            "阳光花园",
            "建设路12号",
            "西湖街道锦秀江南",
            "西湖街道幸福里",
            "幸福里",
        ] {
            let (bare, numbered) = (r.resolve(a), r.resolve(&format!("{a}{tailed}")));
            assert_eq!(bare.compound, numbered.compound, "{a}");
            if bare.method != MatchMethod::Exact {
                assert_eq!(
                    (bare.method, bare.score),
                    (numbered.method, numbered.score),
                    "{a}"
                );
            }
        }
        // With a number the name is not the whole address.
        let numbered = r.resolve("阳光花园21号楼");
        assert_eq!(
            (numbered.method, numbered.score),
            (MatchMethod::Substring, 0.95)
        );

        // Nor do the number's digits vote for the names the fuzzy match compares: ten
        // road-number aliases share `21` and `1号` with the address's building, two
        // characters each like the typo `枫景理三期` shares with its name, and come first
        // in the order that breaks ties among the votes.
        let roads = [
            "中山路",
            "人民路",
            "光明路",
            "八一路",
            "北京路",
            "南京路",
            "友谊路",
            "和平路",
            "团结路",
            "建设路",
        ];
        let ids: Vec<String> = (0..roads.len()).map(|i| format!("R{i}")).collect();
        let names: Vec<String> = (0..roads.len()).map(|i| format!("{i}苑")).collect();
        let aliases: Vec<String> = roads.iter().map(|r| format!("{r}21号")).collect();
        let mut rows = vec![["C1", "枫景里三期", "", "东城街道"]];
        for i in 0..roads.len() {
            rows.push([&ids[i], &names[i], &aliases[i], "东城街道"]);
        }
        let r = registry_of(&rows, 0.75);
        let (id, method) = resolved(&r, "枫景理三期21号楼3单元");
        assert_eq!((id, method), (Some("C1"), MatchMethod::Fuzzy));
    }

    /// A name's typo is compared with that name however common its other pairs are: the
    /// address's pairs are counted rarest first, with the pairs one character apart, and of
    /// names with as many votes the nearest in length goes first.
    #[test]
    fn common_pairs_do_not_crowd_out_a_typos_name() {
        let mut rows: Vec<[String; 4]> = vec![];
        let row = |id: String, name: String| [id, name, String::new(), "东城街道".to_owned()];
        // 东方家园 and the phases that sort before its 二期, some with a district number.
        for (i, n) in [
            "",
            "一期",
            "七期",
            "三期",
            "九期",
            "一期1区",
            "一期2区",
            "一期3区",
            "一期4区",
        ]
        .iter()
        .chain(&[
            "七期5区",
            "七期6区",
            "三期7区",
            "三期8区",
            "九期9区",
            "二期",
        ])
        .enumerate()
        {
            rows.push(row(format!("D{i}"), format!("东方家园{n}")));
        }
        // Three hundred other 家园二期: `家园`, `园二` and `二期` each name hundreds.
        let first: Vec<char> = "甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉".chars().collect();
        let second: Vec<char> = "金木水火土山川田禾米竹石玉青红".chars().collect();
        for (i, (a, b)) in (first.iter())
            .flat_map(|a| second.iter().map(move |b| (a, b)))
            .enumerate()
        {
            rows.push(row(format!("X{i}"), format!("{a}{b}家园二期")));
        }
        let rows: Vec<[&str; 4]> = (rows.iter())
            .map(|[a, b, c, d]| [a.as_str(), b.as_str(), c.as_str(), d.as_str()])
            .collect();
        let r = registry_of(&rows, 0.75);
        assert_eq!(
            resolved(&r, "华方家园二期12号楼4单元"),
            (Some("D14"), MatchMethod::Fuzzy)
        );

        // A typo that breaks both of a pair's neighbours (`甲戊丙丁` of `甲乙丙丁`) leaves the
        // pair around it (`甲_丙`): without it the name has one vote, as many as seventeen
        // names that come before it and are further from the address.
        let mut rows = vec![["T".to_owned(), "甲乙丙丁".to_owned()]];
        for (i, c) in "金木水火土山川田禾米竹石玉青红白黑".chars().enumerate() {
            rows.push([format!("Y{i}"), format!("一{c}丙丁")]);
        }
        let rows: Vec<[&str; 4]> = (rows.iter())
            .map(|[id, name]| [id.as_str(), name.as_str(), "", "东城街道"])
            .collect();
        let r = registry_of(&rows, 0.75);
        assert_eq!(resolved(&r, "甲戊丙丁"), (Some("T"), MatchMethod::Fuzzy));
    }

    /// One edit in a three-character name is below the threshold (0.67): the name counts
    /// only where the export's place confirms it, and it wins over an abbreviation that the
    /// place contradicts.
    #[test]
    fn the_exports_place_confirms_a_typo_the_threshold_leaves_out() {
        let r = registry_of(
            &[
                ["C1", "和园湾", "", "东城街道"],
                ["C2", "华府湾", "", "西湖街道"],
                ["C3", "丽都府", "", "和平街道"],
                ["C4", "丽都小区", "", "西湖街道"],
                ["C5", "丽都小区五期", "丽都", "青山街道"],
            ],
            0.75,
        );
        let at = |a, street| resolved_in(&r, a, street);
        // `华园湾`: one edit from 和园湾 and from 华府湾.
        assert_eq!(at("华园湾3号楼", ""), (None, MatchMethod::Unresolved));
        assert_eq!(
            at("华园湾3号楼", "东城街道办事处"),
            (Some("C1"), MatchMethod::Fuzzy)
        );
        assert_eq!(
            at("华园湾3号楼", "西湖街道办事处"),
            (Some("C2"), MatchMethod::Fuzzy)
        );
        // A place that confirms neither leaves it unresolved.
        assert_eq!(
            at("华园湾3号楼", "南湖街道"),
            (None, MatchMethod::Unresolved)
        );
        // `丽都秀`: the abbreviation 丽都 (C5) or a typo of 丽都府.
        assert_eq!(at("丽都秀12号楼", ""), (Some("C5"), MatchMethod::Alias));
        assert_eq!(
            at("丽都秀12号楼", "和平街道办事处"),
            (Some("C3"), MatchMethod::Fuzzy)
        );
        assert_eq!(
            at("丽都秀12号楼", "青山街道办事处"),
            (Some("C5"), MatchMethod::Alias)
        );
        // `丽都秀区`: a typo of 丽都小区 (0.75), which 丽都小区五期 begins with, further from it.
        assert_eq!(at("丽都秀区2号楼", ""), (Some("C4"), MatchMethod::Fuzzy));
        // The similarity is the name's, lowered for the place's choice.
        let x = r.resolve_in("华园湾", &in_street("东城街道"));
        assert!((x.score - 2.0 / 3.0 * 0.95).abs() < 1e-9, "{}", x.score);
    }

    /// A fuzzy match the export's place contradicts gives way to a name one edit away that
    /// the place points to, even below the threshold; a place that points to none of them
    /// changes nothing.
    #[test]
    fn the_exports_place_overrules_a_fuzzy_match_it_contradicts() {
        let r = registry_of(
            &[
                ["C1", "华府名苑", "", "西湖街道"],
                ["C2", "华府湾", "", "龙泉街道"],
                ["C3", "景苑里", "", "龙泉街道"],
            ],
            0.75,
        );
        // `华府苑`: 华府名苑 less one character (0.75), 华府湾 with one changed (0.67)
        assert_eq!(
            resolved(&r, "华府苑8号楼"),
            (Some("C1"), MatchMethod::Fuzzy)
        );
        let at = |street| resolved_in(&r, "华府苑8号楼", street);
        assert_eq!(at("西湖街道"), (Some("C1"), MatchMethod::Fuzzy));
        assert_eq!(at("龙泉街道办事处"), (Some("C2"), MatchMethod::Fuzzy));
        assert_eq!(at("区住建委"), (Some("C1"), MatchMethod::Fuzzy));
        let x = r.resolve_in("华府苑", &in_street("龙泉街道"));
        assert!((x.score - 2.0 / 3.0 * 0.95).abs() < 1e-9, "{}", x.score);
    }

    #[test]
    fn resolution_cases() {
        let r = reg();
        let m = |a: &str| {
            let x = r.resolve(a);
            (
                x.compound.map(|i| r.compounds[i].compound_id.clone()),
                x.method,
            )
        };
        assert_eq!(m("阳光花园"), (Some("C1".into()), MatchMethod::Exact));
        // the longest match wins: 二期 is its own compound
        assert_eq!(
            m("东城街道阳光花园二期5栋"),
            (Some("C2".into()), MatchMethod::Substring)
        );
        // road-number alias, with full-width digits
        assert_eq!(
            m("建设路１２号3单元"),
            (Some("C1".into()), MatchMethod::Alias)
        );
        // typo: 锦秀江南
        let (id, method) = m("西湖街道锦秀江南小区8幢");
        assert_eq!(id.as_deref(), Some("C5"));
        assert_eq!(method, MatchMethod::Fuzzy);
        // ambiguous without street, resolved with it
        assert_eq!(m("幸福里3号楼").1, MatchMethod::Ambiguous);
        assert_eq!(
            m("西湖街道幸福里3号楼"),
            (Some("C4".into()), MatchMethod::Substring)
        );
        assert_eq!(m("人民医院门口"), (None, MatchMethod::Unresolved));
        // every street the address names counts, even inside another street's name
        assert_eq!(
            m("北岸街道和园2栋"),
            (Some("C8".into()), MatchMethod::Substring)
        );
        assert_eq!(
            m("湖街道和园2栋"),
            (Some("C7".into()), MatchMethod::Substring)
        );
        assert_eq!(m("南湖街道和园2栋"), (None, MatchMethod::Ambiguous));
        // characters no name holds (an emoji, an undecodable byte's U+FFFD, a lone name
        // character) break no match, before, inside the run of names or after
        assert_eq!(
            m("😀\u{FFFD}阳阳光花园二期\u{FFFD}5栋😀"),
            (Some("C2".into()), MatchMethod::Substring)
        );
        // of two names in one address, the longer is taken wherever it stands
        assert_eq!(
            m("锦绣对面的阳光花园二期3栋"),
            (Some("C2".into()), MatchMethod::Substring)
        );
        assert_eq!(
            m("阳光花园二期对面的锦绣3栋"),
            (Some("C2".into()), MatchMethod::Substring)
        );
    }
}
