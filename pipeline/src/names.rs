//! Personal names in free text, masked as `[姓名]` before anything is written.
//!
//! A record's text may name a person: a petitioner signs (`信访人王建国反映`), a caller leaves
//! a contact (`联系人：李秀英，电话…`), a resident introduces themself (`我叫张伟`). A name is
//! personal information, and the report quotes records' texts to leaders, so names are masked
//! like phone numbers.
//!
//! Chinese has no spaces between words and no capitals, so a name is taken only where the
//! text says one comes and only where it looks like one:
//! - after a cue that introduces a person (`联系人`, `信访人`, `业主`, `我叫`, `本人`…) or a
//!   post (`社区书记`, `物业管家`, `院长`), with or without a colon;
//! - before a contact (`，王建国电话…`, `。李秀英手机[手机号]`), a count of the others a
//!   petitioner speaks for (`王建国等15人`) or a verb of reporting (`。王建国反映…`,
//!   `张伟来电称`), after a break in the text or a word jieba's segmenter cuts before a
//!   name it tags (`研究员黄健豪表示`: a post the cues do not list);
//! - beside a name found so, in a list (`王建国、李秀英等15人`, `业主王建国和李秀英反映`);
//! - alone in a text's last sentence, signing it (`…请尽快维修。李明`), when it is no word
//!   of the dictionary and its surname starts no common word nor a closing (`。谢谢`,
//!   `。祝好` stay);
//! - the row's own reporter, where the reporter column holds names (a petition register):
//!   every occurrence of them ([`mask_own_names`]).
//!
//! A district adds the words its texts put before names (`ingest.name_cues`: [`Names::new`]).
//!
//! A name is a common surname (single, or one of the two-character ones) and one or two more
//! characters; characters that are also words of time, number or grammar (`子`, `一`, `天`,
//! `中`: `王子涵`, `张一鸣`) only where the text vouches for a name, and `家` only before
//! another given character (`张家豪`, not `张家漏水`). A surname with a form of address (`王先生`, `李女士`, `张某某`, `刘师傅`) says
//! who the caller is to the operator, not who they are, and stays. After a role without a
//! colon (`业主`, `居民`, `本人`) a name must also end where a name ends: at punctuation, the
//! end of the text, a word that follows a name (`反映`, `来电`, `电话`, `的`…) or any
//! frequent word of jieba's dictionary (`民警赵磊到场`; not after a surname that starts
//! common words, nor for a name that is a word itself: `本人于清明假期`, `业主张贴公告`), so
//! `业主周末在…` or `居民于近日…` keep their words; and a surname that also starts common
//! words (`方面`, `曾经`) needs two more characters there. Where the text after it is no
//! such word (`店主刘建军占道经营`), jieba's segmenter decides: its hidden Markov model cuts
//! and tags the names its dictionary lacks. Where no colon or self-introduction
//! vouches for a name, a candidate that is a word of jieba's dictionary other than a person's
//! name (`陆续`, `付款`, `黄河`) or a place of the district's registry (`丁香园`) is left.
//! A name with no cue around it (`王建国到社区`, a signature after a comma) is not found:
//! that would need a model of Chinese names, and guessing would mangle ordinary text.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::sync::OnceLock;

use crate::normalize::{masked_numbers, replaced};

/// What a masked name becomes.
pub const NAME_MASK: &str = "[姓名]";

/// The commonest single-character surnames (about 85 % of people), and about 80 more of a
/// million bearers or so (`颜`, `倪`, `樊`, `温`, `申`…; about 8 % more people; those that
/// start common words are [`WORDLIKE_SURNAMES`]). Not `全`, `时`, `党`, which start too
/// many words after a cue (`保安` in `确保安全生产`, `负责人时强调`, `记者:党中央`).
const SURNAMES: &str =
    "王李张刘陈杨黄赵周吴徐孙马胡朱郭何罗高林郑梁谢唐许冯宋韩邓彭曹曾田于萧肖潘袁董\
叶杜丁蒋程余吕魏蔡苏任卢沈姜姚钟崔陆谭汪范金石廖贾韦夏付傅方邹熊白孟秦邱侯江尹薛闫阎段雷龙黎史陶\
贺毛郝顾龚邵万覃武钱戴严莫孔向常汤康易乔赖文施洪辛柳詹关包牛鲁葛殷欧岳庞卜纪邢聂章翟褚饶谷祝伍\
凌霍柴\
颜倪庄樊耿俞阮柯毕裴涂苗翁冉骆靳鲍喻祁蒲滕牟缪娄窦戚岑晏瞿佟臧闵苟邬卞栾隋\
温齐申焦左甘宁尚舒梅童季盛曲蓝游蒙屈艾尤穆卓吉简费席米柏宗桂姬成应华路管车单解连景宫卫师商古司阳冷边仇";

/// Surnames that are also the first character of common words (`包括`, `方面`, `高层`,
/// `曾经`, `施工`): not taken before a contact, where no cue vouches for a person, and after
/// a cue without a colon only with two more characters.
const WORDLIKE_SURNAMES: &str =
    "于向关包文方常万石金江高白龙易武安和平任曾余何许马夏严顾施黎洪雷毛章柴凌\
温齐申焦左甘宁尚舒梅童季盛曲蓝游蒙屈艾尤穆卓吉简费席米柏宗桂姬成应华路管车单解连景宫卫师商古司阳冷边仇";

/// Two-character surnames.
const DOUBLE_SURNAMES: [&str; 12] = [
    "欧阳", "司马", "诸葛", "上官", "皇甫", "令狐", "慕容", "公孙", "夏侯", "尉迟", "司徒", "宇文",
];

/// Forms of address after a surname: the person stays unnamed.
const TITLES: [&str; 30] = [
    "先生", "女士", "小姐", "师傅", "阿姨", "大爷", "大妈", "大娘", "大叔", "大姐", "大哥", "老师",
    "同志", "老人", "奶奶", "爷爷", "某", "总", "经理", "主任", "书记", "律师", "医生", "警官",
    "姓", "家", "氏", "工", "队", "局",
];

/// Characters that do not start or continue a given name here: words of time, place,
/// quantity and grammar, so `居民于近日`, `业主周末`, `本人于去年` are no names.
const NOT_GIVEN: &str =
    "年月日周末天时早晚夜今昨近去本该此上下前后多少几些一二两俩三四五六七八九十百千万你我他她它\
的了和与及对向到从自被把将已又也都就还再不没无有是为因由于以所其这那每各全们区楼号单元室栋层路\
街道村镇市省县反来投称说表要请希诉电话手机先女师阿某家住居业物公司门口边里内外中间子儿孙等在季围地";

/// Characters of [`NOT_GIVEN`] that are common in given names (`王子涵`, `张一鸣`,
/// `刘天宇`, `李建中`, `张万年`, `钱其琛`, `李向东`, `王建业`, `张来福`; not `和`, which
/// joins names: `周涛和李强`): a name may hold them where the text vouches for
/// it — after a colon or a naming cue, or ending at punctuation or a word that follows
/// names (`信访人刘天宇反映`) —, and jieba's segmenter cuts it; not where it ends only
/// before a word (`业主周一停水`).
const GIVEN_IF_SURE: &str = "子一天中万千月元道全有为年其向业希来";

/// Words that follow a name (after a cue without a colon, a name must end before one of
/// them, punctuation, or the end).
const FOLLOWING: [&str; 40] = [
    "反映",
    "多次",
    "再次",
    "一直",
    "来电",
    "来访",
    "来信",
    "投诉",
    "举报",
    "求助",
    "称",
    "说",
    "表示",
    "住",
    "家住",
    "居住",
    "现住",
    "系",
    "等",
    "及",
    "和",
    "与",
    "电话",
    "手机",
    "联系",
    "身份证",
    "的",
    "向",
    "于",
    "在",
    "夫妇",
    "一家",
    "同志",
    "要求",
    "诉求",
    "因",
    "性别",
    "年龄",
    "住址",
    "地址",
];

/// Cues before a name.
const LEAD_CUES: [&str; 41] = [
    "姓名",
    "诉求人",
    "来访人",
    "来信人",
    "咨询人",
    "受害人",
    "负责人",
    "经理",
    "母亲",
    "父亲",
    "丈夫",
    "妻子",
    "儿子",
    "女儿",
    "老伴",
    "联系人",
    "来电人",
    "反映人",
    "投诉人",
    "举报人",
    "信访人",
    "求助人",
    "当事人",
    "申请人",
    "申诉人",
    "代理人",
    "户主",
    "业主",
    "租户",
    "住户",
    "居民",
    "市民",
    "网格员",
    "我叫",
    "名叫",
    "本人叫",
    "本人姓名",
    "本人",
    "我是",
    "联系",
    "找",
];

/// Posts and trades before a name (`社区书记李强称`, `物业管家王芳`, `院长王德云表示`): the
/// staff a record names are people too. Cues before a name ([`Kind::Lead`]), so without a
/// colon the name must end where a name ends. `老师` is not one (`老师傅修理`), nor
/// `电工` (`水电工程`) or `工作人员` (`工作人员戴胸卡`). The staff of delivery and
/// building work and the members of a committee came in session 36 (`外卖员`, `快递员`,
/// `骑手`, `员工`, `成员`, `工人`, `施工队`: `物业员工谢立新称`, `业委会成员杨秀英反映`).
const ROLE_CUES: [&str; 54] = [
    "外卖员",
    "快递员",
    "骑手",
    "员工",
    "成员",
    "工人",
    "施工队",
    "书记",
    "主任",
    "主席",
    "局长",
    "处长",
    "科长",
    "所长",
    "站长",
    "队长",
    "组长",
    "楼长",
    "院长",
    "校长",
    "村长",
    "镇长",
    "区长",
    "市长",
    "会长",
    "董事长",
    "理事长",
    "网格长",
    "民警",
    "辅警",
    "警官",
    "管家",
    "保安",
    "律师",
    "医生",
    "记者",
    "保洁员",
    "保洁",
    "维修工",
    "维修员",
    "维修人员",
    "客服",
    "专员",
    "门卫",
    "司机",
    "房东",
    "邻居",
    "店主",
    "老板",
    "社工",
    "城管",
    "监理",
    "施工员",
    "志愿者",
];

/// Cues after which a name comes whatever follows it (as after a colon).
const NAMING_CUES: [&str; 5] = ["姓名", "我叫", "名叫", "本人叫", "本人姓名"];

/// Contacts after a name.
const CONTACT_CUES: [&str; 8] = [
    "电话",
    "手机",
    "联系电话",
    "联系方式",
    "身份证",
    "[手机号]",
    "[电话]",
    "[身份证号]",
];

/// Cues after a name: `等` with a count of people (`王建国等15人`, `等人`).
const GROUP_CUES: [&str; 1] = ["等"];

/// Verbs of reporting after a name at the start of a clause (`。王建国反映`, `张伟来电称`).
const SAYS_CUES: [&str; 11] = [
    "反映", "来电", "来访", "来信", "投诉", "举报", "求助", "称", "表示", "要求", "诉称",
];

/// What joins the names of a list (`王建国、李秀英`, `王建国和李秀英`).
const LIST_JOINERS: [char; 5] = ['、', '和', '与', '及', '同'];

/// What a cue says of a name's place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A name may follow ([`LEAD_CUES`]).
    Lead,
    /// A name may come before, after a break ([`CONTACT_CUES`]).
    Contact,
    /// A name may come before, when a count of people follows ([`GROUP_CUES`]).
    Group,
    /// A name may come before, after a break ([`SAYS_CUES`]).
    Says,
}

/// Words before a name that are no cue of their own: a name after one is taken only before
/// a verb of reporting or a contact (`。工作人员王建国表示`, `工作人员李秀英，电话…`), as
/// after a cue ([`Names::name_before`]); after a cue it would be taken before any word, and
/// `工作人员戴胸卡上岗` is no name.
const LEADS_BEFORE_A_VERB: [&str; 1] = ["工作人员"];

/// Every cue with its kind.
fn all_cues() -> impl Iterator<Item = (&'static str, Kind)> {
    (LEAD_CUES.iter().chain(&ROLE_CUES).map(|c| (*c, Kind::Lead)))
        .chain(CONTACT_CUES.iter().map(|c| (*c, Kind::Contact)))
        .chain(GROUP_CUES.iter().map(|c| (*c, Kind::Group)))
        .chain(SAYS_CUES.iter().map(|c| (*c, Kind::Says)))
}

/// Whether `rest` (after `等`) counts people: a number, in digits or Chinese, perhaps `余`
/// or `多`, then `人`, `名`, `户` or `位`; or `人` alone (`等人`).
fn counts_people(rest: &str) -> bool {
    let counted = rest.trim_start_matches(|c: char| {
        c.is_ascii_digit() || "一二两三四五六七八九十百几余多".contains(c)
    });
    counted.len() < rest.len() && counted.starts_with(['人', '名', '户', '位'])
        || rest.starts_with('人')
}

/// Characters that may stand between a cue and its name.
fn joiner(c: char) -> bool {
    matches!(c, ':' | '：' | ' ' | '是' | '为' | '叫')
}

fn han(c: char) -> bool {
    ('\u{4E00}'..='\u{9FFF}').contains(&c) || ('\u{3400}'..='\u{4DBF}').contains(&c)
}

/// A set of CJK characters (U+4E00–U+9FFF) as a bitset: 2.6 KB, so a lookup stays in the
/// cache beside the registry's automaton.
struct CharSet(Vec<u64>);

/// The CJK block a [`CharSet`] covers: its first code point and its length.
const CJK: (u32, u32) = (0x4E00, 0x5200);

impl CharSet {
    fn new(chars: impl IntoIterator<Item = char>) -> CharSet {
        let mut bits = vec![0u64; (CJK.1 as usize).div_ceil(64)];
        for c in chars {
            if let Some(k) = (c as u32).checked_sub(CJK.0).filter(|&k| k < CJK.1) {
                bits[k as usize / 64] |= 1 << (k % 64);
            }
        }
        CharSet(bits)
    }

    fn has_code(&self, code: u32) -> bool {
        let k = code.wrapping_sub(CJK.0);
        k < CJK.1 && self.0[k as usize / 64] & (1 << (k % 64)) != 0
    }

    fn contains(&self, c: char) -> bool {
        self.has_code(c as u32)
    }
}

/// The character sets of names, built once.
struct Sets {
    /// [`SURNAMES`], and the first characters of [`DOUBLE_SURNAMES`].
    surnames: CharSet,
    doubles: CharSet,
    wordlike: CharSet,
    not_given: CharSet,
    /// [`GIVEN_IF_SURE`].
    if_sure: CharSet,
}

fn sets() -> &'static Sets {
    static SETS: OnceLock<Sets> = OnceLock::new();
    SETS.get_or_init(|| Sets {
        surnames: CharSet::new(SURNAMES.chars()),
        doubles: CharSet::new(DOUBLE_SURNAMES.iter().filter_map(|d| d.chars().next())),
        wordlike: CharSet::new(WORDLIKE_SURNAMES.chars()),
        not_given: CharSet::new(NOT_GIVEN.chars()),
        if_sure: CharSet::new(GIVEN_IF_SURE.chars()),
    })
}

/// The cues that tell where names are: the built-in ones ([`Names::builtin`]), with those a
/// district's texts use besides (`ingest.name_cues`, [`Names::new`]).
pub struct Names {
    /// The characters a cue starts with.
    cue_starts: CharSet,
    /// The distinct first characters of the cues, sorted; `cues[i]` holds those of `starts[i]`.
    starts: Vec<char>,
    /// Each first character's cues, longest first, and their kinds.
    cues: Vec<Vec<(Box<str>, Kind)>>,
    /// The cues before a name, for [`Names::name_before`].
    lead: Vec<Box<str>>,
    /// The first two and three characters of the district's place names
    /// ([`Names::with_places`]): a candidate among them is a place.
    places: HashSet<Box<str>>,
    /// The district's words for its problems ([`Names::with_terms`]), and the most
    /// characters one has.
    terms: HashSet<Box<str>>,
    longest_term: usize,
}

impl Names {
    /// The built-in cues and `extra` cues before a name (each should start with a Chinese
    /// character: [`valid_cue`]; others are left out).
    pub fn new(extra: &[String]) -> Names {
        let extra = (extra.iter())
            .filter(|c| valid_cue(c))
            .map(|c| (c.as_str(), Kind::Lead));
        let mut by_first: std::collections::BTreeMap<char, Vec<(Box<str>, Kind)>> =
            Default::default();
        let mut lead = vec![];
        let builtin = all_cues().map(|(c, k)| -> (&str, Kind) { (c, k) });
        for (cue, kind) in builtin.chain(extra) {
            let Some(c) = cue.chars().next() else {
                continue;
            };
            let v = by_first.entry(c).or_default();
            if v.iter().any(|(known, _)| known.as_ref() == cue) {
                continue;
            }
            v.push((cue.into(), kind));
            if kind == Kind::Lead {
                lead.push(cue.into());
            }
        }
        lead.extend(LEADS_BEFORE_A_VERB.iter().map(|&c| c.into()));
        for v in by_first.values_mut() {
            v.sort_by_key(|(c, _)| std::cmp::Reverse(c.len()));
        }
        Names {
            cue_starts: CharSet::new(by_first.keys().copied()),
            starts: by_first.keys().copied().collect(),
            cues: by_first.into_values().collect(),
            lead,
            places: HashSet::new(),
            terms: HashSet::new(),
            longest_term: 0,
        }
    }

    /// These cues, knowing the district's `places` (its compounds' names and aliases, its
    /// streets and communities): a name-shaped start of one (`丁香园` of `丁香园小区`) is
    /// not taken for a name where no cue vouches for one.
    pub fn with_places<'p>(mut self, places: impl IntoIterator<Item = &'p str>) -> Names {
        for place in places {
            let ends = place.char_indices().map(|(i, _)| i).skip(2).take(2);
            for end in ends.chain(std::iter::once(place.len())) {
                self.places.insert(place[..end].into());
            }
        }
        self
    }

    /// These cues, knowing the words the district's records use for their problems (its
    /// taxonomy's categories and aliases: `私搭乱建`, `占道经营`, `飞线充电`): a name after
    /// a role ends before one (`邻居张伟私搭乱建`), where the rules find no end (the
    /// dictionary lacks `私搭`) and jieba's segmenter takes the verb's first character as
    /// the name's last (`张伟私`). Terms of two to eight Chinese characters count.
    pub fn with_terms<'t>(mut self, terms: impl IntoIterator<Item = &'t str>) -> Names {
        for term in terms.into_iter().map(str::trim) {
            let n = term.chars().count();
            if (2..=8).contains(&n) && term.chars().all(han) {
                self.longest_term = self.longest_term.max(n);
                self.terms.insert(term.into());
            }
        }
        self
    }

    /// The length of the name `s` starts with when it ends right before one of the
    /// district's terms ([`Names::with_terms`]): a surname and two given characters, else
    /// one; plausible, and a surname that starts common words only with two (none without
    /// `wordlike`).
    fn name_before_term(&self, s: &str, wordlike: bool) -> Option<usize> {
        if self.terms.is_empty() {
            return None;
        }
        let (sur, common_word) = surname_at(s)?;
        if common_word && !wordlike || titled(&s[sur..]) {
            return None;
        }
        let [one, two] = given_lengths(&s[sur..]);
        [(two, true), (one, !common_word)]
            .into_iter()
            .filter(|&(given, allowed)| {
                given > 0 && allowed && !needs_a_sure_sign(&s[sur..sur + given])
            })
            .map(|(given, _)| sur + given)
            .find(|&end| {
                self.term_starts(&s[end..])
                    && self.plausible(&s[..end])
                    && !word_like_before_term(&s[..end])
            })
    }

    /// Whether `rest` starts with one of the district's terms.
    fn term_starts(&self, rest: &str) -> bool {
        (rest.char_indices().take_while(|&(_, c)| han(c)))
            .skip(1)
            .take(self.longest_term.saturating_sub(1))
            .any(|(i, c)| self.terms.contains(&rest[..i + c.len_utf8()]))
    }

    /// Whether the whole of `cell` is a person's name (a cell of a column that should hold
    /// no name, such as the category: a reporter's name moved there): a name as
    /// [`reporter_names`] takes it, and neither a frequent dictionary word (`金融`, `高血压`),
    /// a place or the start of one ([`Names::with_places`]), nor, after a surname that
    /// starts common words, one of them, whatever jieba's tag (`阳光花园`, `华为手机`:
    /// `阳光` and `华为` are tagged names there).
    pub fn is_a_name(&self, cell: &str) -> bool {
        let cell = cell.trim();
        reporter_names(cell) == [cell]
            && self.plausible(cell)
            && !(surname_at(cell).is_some_and(|(_, wordlike)| wordlike)
                && (cell.char_indices().nth(2))
                    .is_some_and(|(two, _)| frequent_word(&cell[..two], |_| true)))
    }

    /// Whether `candidate`, name-shaped where no cue vouches for a name, may be one: it is
    /// neither the start of one of the district's places nor a dictionary word other than
    /// a person's name.
    fn plausible(&self, candidate: &str) -> bool {
        !self.places.contains(candidate) && !dictionary_word(candidate)
    }

    /// The built-in cues only.
    pub fn builtin() -> &'static Names {
        static BUILTIN: OnceLock<Names> = OnceLock::new();
        BUILTIN.get_or_init(|| Names::new(&[]))
    }

    /// `text` with the names its cues introduce masked; borrowed when there are none (most
    /// texts).
    pub fn mask<'a>(&self, text: Cow<'a, str>) -> Cow<'a, str> {
        // Cues are Chinese (or a mask's brackets): an ASCII text has none.
        if text.is_ascii() {
            return text;
        }
        let ranges = self.cued_names(&text);
        if ranges.is_empty() {
            return text;
        }
        Cow::Owned(replaced(&text, ranges, NAME_MASK))
    }

    /// `text` with its identifiers masked ([`masked_numbers`]) and then its names: a masked
    /// phone number (`[手机号]`) is a contact a name comes before. Borrowed when there is
    /// nothing to mask.
    pub fn mask_text<'a>(&self, text: Cow<'a, str>) -> Cow<'a, str> {
        self.mask(masked_numbers(text))
    }

    /// The longest cue starting with character `c` at the start of `rest`.
    fn cue_at(&self, c: char, rest: &[u8]) -> Option<(usize, Kind)> {
        let i = self.starts.binary_search(&c).ok()?;
        (self.cues[i].iter())
            .find(|(cue, _)| rest.starts_with(cue.as_bytes()))
            .map(|(cue, kind)| (cue.len(), *kind))
    }

    /// Calls `each` with the cues of `text` from the left, each the longest at its place
    /// and none overlapping (as a leftmost-longest automaton finds them): byte range and
    /// kind. A character at a time: most cost a bit's lookup rather than three
    /// automaton steps.
    fn find_cues(&self, text: &str, mut each: impl FnMut(Range<usize>, Kind)) {
        let b = text.as_bytes();
        let mut i = 0;
        while i < b.len() {
            let lead = b[i];
            let (c, width) = if lead & 0xF0 == 0xE0 && i + 2 < b.len() {
                let code = (u32::from(lead & 0x0F) << 12)
                    | (u32::from(b[i + 1] & 0x3F) << 6)
                    | u32::from(b[i + 2] & 0x3F);
                if !self.cue_starts.has_code(code) {
                    i += 3;
                    continue;
                }
                (char::from_u32(code), 3)
            } else if lead == b'[' {
                (Some('['), 1)
            } else {
                i += 1;
                continue;
            };
            match c.and_then(|c| self.cue_at(c, &b[i..])) {
                Some((len, kind)) => {
                    each(i..i + len, kind);
                    i += len;
                }
                None => i += width,
            }
        }
    }

    /// The name ending at byte `end` of `s`, before a contact: preceded by the start of the
    /// text, punctuation or a cue, and not of a surname that is also a common word.
    fn name_before(&self, s: &str, end: usize) -> Option<usize> {
        let before = &s[..end];
        // A name is two to four Chinese characters, the last a given name's.
        let mut starts = [0; 4];
        let mut n = 0;
        for (i, c) in before.char_indices().rev().take(4) {
            if !han(c) || (n == 0 && !sets().given_if_sure(c)) {
                break;
            }
            starts[n] = i;
            n += 1;
        }
        // From the longest candidate; the cheap tests first (most verbs follow no name).
        (starts[..n].iter().rev().copied())
            .find(|&start| {
                name_at(&s[start..], false, false) == Some(end - start) && {
                    let prefix = &before[..start];
                    (prefix.chars().next_back())
                        .is_none_or(|c| !han(c) || LIST_JOINERS.contains(&c))
                        || self.lead.iter().any(|c| prefix.ends_with(c.as_ref()))
                        || segmented_after(prefix, &s[start..end])
                }
            })
            .filter(|&start| self.plausible(&s[start..end]))
    }

    /// `found` with the names listed beside its names (`王建国、李秀英`, `王建国和李秀英`):
    /// after one, a name as after a role (`王建国和高立新`: a surname that starts common words
    /// too, under the same rules); before one, a name after a break.
    fn listed(&self, text: &str, mut found: Vec<Range<usize>>) -> Vec<Range<usize>> {
        let mut i = 0;
        while i < found.len() {
            let r = found[i].clone();
            i += 1;
            let after = &text[r.end..];
            if let Some(j) = after.chars().next().filter(|c| LIST_JOINERS.contains(c)) {
                let start = r.end + j.len_utf8();
                if let Some(len) = self.name_after_role(&text[start..], true) {
                    if !found.contains(&(start..start + len)) {
                        found.push(start..start + len);
                    }
                }
            }
            if let Some(j) = text[..r.start].chars().next_back() {
                if LIST_JOINERS.contains(&j) {
                    let end = r.start - j.len_utf8();
                    if let Some(start) = self.name_before(text, end) {
                        if !found.contains(&(start..end)) {
                            found.push(start..end);
                        }
                    }
                }
            }
        }
        found
    }

    /// The byte ranges of the names in `text` found by cues.
    fn cued_names(&self, text: &str) -> Vec<Range<usize>> {
        let mut out: Vec<Range<usize>> = vec![];
        self.find_cues(text, |m, kind| {
            let cue = &text[m.clone()];
            if kind == Kind::Group {
                // `王建国等15人`: the name before the count of the others.
                if counts_people(&text[m.end..]) {
                    if let Some(start) = self.name_before(text, m.start) {
                        out.push(start..m.start);
                    }
                }
                return;
            }
            if kind == Kind::Says {
                // `。王建国反映`: the name before the verb, after a break.
                if let Some(start) = self.name_before(text, m.start) {
                    out.push(start..m.start);
                }
                return;
            }
            if kind == Kind::Contact {
                // Skip one separator between the name and its contact: `王建国，电话`.
                let mut end = m.start;
                if let Some(c) = text[..end].chars().next_back() {
                    if matches!(c, '，' | ',' | ' ' | ':' | '：') {
                        end -= c.len_utf8();
                    }
                }
                if let Some(start) = self.name_before(text, end) {
                    out.push(start..end);
                }
                return;
            }
            let mut start = m.end;
            let mut colon = false;
            for c in text[start..].chars().take(2) {
                if !joiner(c) {
                    break;
                }
                colon |= matches!(c, ':' | '：');
                start += c.len_utf8();
            }
            // A colon or a self-introduction says a name comes; a role (`业主`) only may.
            let certain = colon || NAMING_CUES.contains(&cue);
            let name = match certain {
                true => name_at(&text[start..], false, true),
                false => self.name_after_role(&text[start..], true),
            };
            if let Some(len) = name {
                out.push(start..start + len);
            }
        });
        if let Some(r) = self.signature(text) {
            out.push(r);
        }
        if out.is_empty() {
            return out;
        }
        self.listed(text, out)
    }

    /// The length of the name `s` starts with, after a role without a colon or after a
    /// name and a joiner (`和`, `、`): before one of the district's terms
    /// ([`Names::name_before_term`]), else by the rules ([`name_at`], strict, and
    /// plausible; [`shorter_by_segmenter`]), else by jieba's segmenter ([`Names::segmented_name`]). Without `wordlike`, a surname
    /// that is also a common word starts no name.
    fn name_after_role(&self, s: &str, wordlike: bool) -> Option<usize> {
        (self.name_before_term(s, wordlike))
            .or_else(|| {
                name_at(s, true, wordlike)
                    .map(|len| shorter_by_segmenter(s, len))
                    .filter(|&len| self.plausible(&s[..len]))
            })
            .or_else(|| self.segmented_name(s))
            .or_else(|| name_of_three(s).filter(|&len| self.plausible(&s[..len])))
    }

    /// The name `s` starts with by jieba's segmenter, where the rules find none after a
    /// cue without a colon: its hidden Markov model cuts and tags names the dictionary
    /// lacks, where the text after them is no word a name ends before
    /// (`店主刘建军占道经营`, `保洁员赵小红乱倒垃圾`). Taken when the first word it cuts is
    /// tagged a person's, is a surname that starts no common word and one or two given
    /// characters, and is no word of the dictionary (two characters: `张贴`, `林立`, `孙子`
    /// are tagged names there) nor a common one ([`Names::plausible`]; three characters).
    /// Only after a surname: the segmenter costs microseconds. Its model errs by a
    /// character: after a name of two it may take a verb's first (`邻居陈勇私搭乱建` →
    /// `邻居[姓名]搭乱建`), and a given name's rare last character it may leave alone
    /// (`胡梓` + `萱`), which is then taken when it is a noun or name character and no very
    /// common word of its own.
    fn segmented_name(&self, s: &str) -> Option<usize> {
        let (sur, wordlike) = surname_at(s)?;
        if wordlike || titled(&s[sur..]) {
            return None;
        }
        let words = clause_words(s)?;
        // The model often cuts a surname from its given name, tagging both a person's
        // (`王` `秀英`, `吕` `志强`, `宋` `海燕`): the two are the name.
        let (name, person, next) = match &words[..] {
            [one, given, rest @ ..]
                if one.word.len() == sur
                    && person(one.tag)
                    && person(given.tag)
                    && given.word.chars().count() <= 2 =>
            {
                (&s[..sur + given.word.len()], true, rest.first())
            }
            [one, rest @ ..] => (one.word, segmented_person(one), rest.first()),
            [] => return None,
        };
        let chars = name.chars().count();
        let ok = person
            && (2..=3).contains(&chars)
            && name.len() > sur
            && given_lengths(&name[sur..]).contains(&(name.len() - sur))
            && !word_inside(name, sur)
            // Its last character one a given name may end with anywhere (`张子` + `轩`).
            && name.chars().next_back().is_some_and(|c| sets().given(c))
            && self.plausible(name);
        if !ok {
            return None;
        }
        match (chars, next) {
            (2, Some(w)) if left_last_character(w) => Some(name.len() + w.word.len()),
            _ => Some(name.len()),
        }
    }

    /// A name that signs a text: the whole of its last sentence (`…请尽快维修。王建国`),
    /// of a surname that starts no common word nor a closing (`祝好`, `谢过`), and in
    /// jieba's dictionary not at all, or for three characters only as a person's name (a
    /// closing `。谢谢` or `。周知` is a word; `王建国` is a name there).
    fn signature(&self, text: &str) -> Option<Range<usize>> {
        let end = text
            .trim_end_matches(|c: char| c.is_whitespace() || matches!(c, '。' | '！' | '!' | '.'))
            .len();
        let body = &text[..end];
        // A name is at most four characters: the break is among the last five.
        let (brk, c) = (body.char_indices().rev().take(5))
            .find(|(_, c)| matches!(c, '。' | '！' | '？' | '!' | '?'))?;
        let start = brk + c.len_utf8();
        let name = &body[start..];
        let three = name.chars().count() == 3;
        (!name.starts_with(['祝', '谢'])
            && name_at(name, true, false) == Some(name.len())
            && word_freq(name, |t| !(three && person(t))) == 0
            && self.plausible(name))
        .then_some(start..end)
    }
}

impl Sets {
    /// Whether `c` may be a character of a given name.
    fn given(&self, c: char) -> bool {
        han(c) && !self.not_given.contains(c)
    }

    /// Whether `c` may be a character of a given name where the text vouches for a name
    /// ([`GIVEN_IF_SURE`]).
    fn given_if_sure(&self, c: char) -> bool {
        self.given(c) || self.if_sure.contains(c)
    }
}

/// The least frequency (in jieba's dictionary, whose common words count hundreds to
/// hundreds of thousands) for a word to keep a name-shaped candidate from being a name.
/// The rarer entries hold names tagged as other words: `龙应台`/n (8), `高建国`/ns (4).
const MIN_WORD_FREQ: usize = 20;

/// At least this many of the dictionary's names end with the last character of a name of
/// three after a role that nothing else ends ([`name_of_three`]): `华` 372, `英` 164, `建` 32.
const COMMON_NAME_END: u32 = 10;

/// How many of the three-character names in jieba's dictionary (a surname of
/// [`SURNAMES`] and two given characters, 36,062) end with each character
/// (`notebooks-data/name_ends.txt`, written by `bench/name_ends.py`): `华` 372, `英` 164,
/// `建` 32; `占` 4; `拒`, `乱`, `态` none.
const NAME_ENDS: &str = include_str!("../../notebooks-data/name_ends.txt");

/// Fewer names than this in jieba's dictionary end with a character that rarely ends one
/// ([`rarely_ends_a_name`]). The dictionary's few names with such an ending are mostly
/// pieces of phrases it tagged as names (`杨宇占`, `王田私`, `黄蓉拖`).
const RARE_NAME_END: u32 = 5;

/// Whether few names end with `c` ([`NAME_ENDS`], [`RARE_NAME_END`]): a given name's
/// last character is seldom a verb's first (`拒`, `占`, `乱`), while `英`, `华`, `强`
/// end hundreds.
fn rarely_ends_a_name(c: char) -> bool {
    names_ending_with(c) < RARE_NAME_END
}

/// How many of the dictionary's names of three end with `c` ([`NAME_ENDS`]).
fn names_ending_with(c: char) -> u32 {
    static ENDS: OnceLock<HashMap<char, u32>> = OnceLock::new();
    let ends = ENDS.get_or_init(|| {
        (NAME_ENDS.lines())
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let (c, n) = l.split_once(' ')?;
                Some((c.chars().next()?, n.trim().parse().ok()?))
            })
            .collect()
    });
    ends.get(&c).copied().unwrap_or(0)
}

/// The least frequency (in jieba's dictionary) of a very common word, whose
/// three-character compounds the dictionary tags as names are not names ([`dictionary_word`]).
const VERY_COMMON: usize = 1000;

/// jieba's dictionary, loaded once (349,045 words, about 0.1 s).
fn dictionary() -> &'static jieba_rs::Jieba {
    static JIEBA: OnceLock<jieba_rs::Jieba> = OnceLock::new();
    JIEBA.get_or_init(jieba_rs::Jieba::new)
}

/// Whether the dictionary holds `word` at least [`MIN_WORD_FREQ`] times with a tag
/// `of_kind` accepts.
fn frequent_word(word: &str, of_kind: impl Fn(&str) -> bool) -> bool {
    word_freq(word, of_kind) >= MIN_WORD_FREQ
}

/// How often the dictionary holds `word` with a tag `of_kind` accepts (0: not at all).
fn word_freq(word: &str, of_kind: impl Fn(&str) -> bool) -> usize {
    entry(word).map_or(0, |(tag, n)| if of_kind(tag) { n } else { 0 })
}

/// `word`'s tag and frequency in the dictionary, if it is a word of it.
fn entry(word: &str) -> Option<(&str, usize)> {
    let jieba = dictionary();
    match jieba.tag(word, false)[..] {
        // One token without the HMM: a word of the dictionary, whose own frequency
        // `suggest_freq` gives plus one.
        [ref w] => Some((w.tag, jieba.suggest_freq(word).saturating_sub(1))),
        _ => None,
    }
}

/// The words jieba's segmenter (with its hidden Markov model) cuts from the clause `s`
/// starts with, up to eight Chinese characters; `None` when `s` starts with none.
fn clause_words(s: &str) -> Option<Vec<jieba_rs::Tag<'_>>> {
    let end = (s.char_indices())
        .take_while(|&(_, c)| han(c))
        .take(8)
        .last()
        .map(|(i, c)| i + c.len_utf8())?;
    Some(dictionary().tag(&s[..end], true))
}

/// `len`, the rules' name of a surname and two given characters at the start of `s`, or
/// the surname and the first where it ends only before a word (not punctuation nor a word that
/// follows names) and jieba's segmenter cuts the surname and one as a person's name: the
/// rules take a verb's first character when the next two are a word of the dictionary
/// (`房东张伟拒不退押金`: `不退`; `店主张伟占道经营`: `道经`), the segmenter weighs the
/// whole clause (`张伟` `拒不退` `押金`), when the third character starts a word of the
/// dictionary (`拒不`; not in `陈焕新介绍说`, `周绍铮主持`, where the model cuts the names
/// short). A name of two it cuts must be no word of the
/// dictionary ([`segmented_person`]: `韦德` + `云`), and one whose rare last character it
/// left alone keeps it ([`left_last_character`]: `赵梓` + `萱`).
fn shorter_by_segmenter(s: &str, len: usize) -> usize {
    let Some((sur, _)) = surname_at(s) else {
        return len;
    };
    let Some(given) = s[sur..len].chars().next() else {
        return len;
    };
    let shorter = sur + given.len_utf8();
    let mut last = s[shorter..len].chars();
    let (Some(last), None) = (last.next(), last.next()) else {
        return len;
    };
    if ends_name(&s[len..]) != End::Word || !starts_word(&s[shorter..]) {
        return len;
    }
    // A character few names end with is the verb's (`王丽拒不维修`, where the segmenter
    // cuts `王丽拒`).
    if rarely_ends_a_name(last) {
        return shorter;
    }
    match clause_words(s).as_deref() {
        Some([first, rest @ ..])
            if first.word.len() == shorter
                && segmented_person(first)
                && !rest.first().is_some_and(left_last_character) =>
        {
            shorter
        }
        _ => len,
    }
}

/// Whether `rest` starts with a word of two to four Chinese characters that jieba's
/// dictionary holds, however rarely (`拒不` 3 times, `占道` 4, `亲自`), and not as a
/// frequent person's name.
fn starts_word(rest: &str) -> bool {
    (rest.char_indices().take_while(|&(_, c)| han(c)))
        .skip(1)
        .take(3)
        .map(|(i, c)| &rest[..i + c.len_utf8()])
        .any(|w| dictionary().has_word(w) && !entry(w).is_some_and(|(tag, _)| person(tag)))
}

/// Whether `candidate`, before one of the district's terms, is more likely a word: of two
/// characters, any word of jieba's dictionary, a name's or a rare one's included (`杨树`,
/// `孔洞` and `唐突` are tagged names there, `钱款` is there 8 times); of three, one whose
/// first two are a frequent word other than a name (`罗马柱`, `苏联式`; `张家豪` stays).
fn word_like_before_term(candidate: &str) -> bool {
    match candidate.char_indices().nth(2) {
        None => dictionary().has_word(candidate),
        Some((two, _)) => frequent_word(&candidate[..two], |t| !person(t)),
    }
}

/// Whether `next`, the word jieba's segmenter cuts after a name of two characters, is a
/// lone character that may end a given name and is no very common word of its own (`萱`
/// after `胡梓`, 377 times in the dictionary; not `车`, `狗`, `店`): the model left a
/// name's rare last character, which belongs to the name.
fn left_last_character(next: &jieba_rs::Tag<'_>) -> bool {
    next.word.chars().count() == 1
        && matches!(next.tag, "n" | "ng" | "x" | "nr" | "nrt" | "nrfg" | "zg")
        && next.word.chars().all(|c| sets().given(c))
        && word_freq(next.word, |_| true) < VERY_COMMON
}

/// Whether jieba's segmenter cuts `name` as a person's name right after a word of
/// `prefix` (the text before it, up to six characters): `研究员黄健豪表示`,
/// `主教练陈宝山称`, after a post or trade the cues do not list. A name of two characters
/// must be one the dictionary lacks (`居委会陈述称` stays).
fn segmented_after(prefix: &str, name: &str) -> bool {
    let from = (prefix.char_indices().rev())
        .take_while(|&(_, c)| han(c))
        .take(6)
        .last()
        .map_or(prefix.len(), |(i, _)| i);
    let text = format!("{}{name}", &prefix[from..]);
    let at = prefix.len() - from;
    let mut pos = 0;
    for w in dictionary().tag(&text, true) {
        if pos == at {
            return w.word == name && segmented_person(&w);
        }
        pos += w.word.len();
        if pos > at {
            return false;
        }
    }
    false
}

/// Whether a word jieba's segmenter cut is a person's name by its tag: of two characters,
/// only one the dictionary lacks (it tags `陈述`, `张贴`, `孙子` names), so the model's own.
fn segmented_person(word: &jieba_rs::Tag<'_>) -> bool {
    person(word.tag) && (word.word.chars().count() > 2 || entry(word.word).is_none())
}

/// Whether a dictionary tag is a person's name's.
fn person(tag: &str) -> bool {
    matches!(tag, "nr" | "nrfg" | "nrt")
}

/// Whether `candidate` is a frequent word of jieba's dictionary other than a person's name,
/// or starts with a function or time word:
/// - of two characters, any word not tagged a name (`陆续`/d, `付款`/v, `黄河`/ns; not
///   `李强`/nrfg);
/// - of three, a common word (`高血压`/n, `顾不得`/v): the dictionary's three-character
///   places, proper nouns, numbers and times hold names (`郑卫国`/ns, `金正日`/nz,
///   `许立群`/m, `周恩来`/t);
/// - of three, one whose first two are a time, adverb or function word (`凌晨入住`,
///   `陆续搬走`), where a name's two first characters may be another word (`王国庆`);
/// - of three, one the dictionary tags a name whose first two are a very common word
///   ([`VERY_COMMON`] times, and more than the name): jieba tags thousands of compounds of
///   a word `nr` (`纪念堂` 70 after `纪念` 2,681, `严重性`, `黄金周`, `纪律性`). Of its 511
///   such `nr` words that start with one of 101 common surnames and a word of 20 or more,
///   about a third are names (`周家玲`, `方志敏`, `程文华`); of the 100 after a word of
///   1,000 or more, five (`黄金荣`, `高大卫`), so the rarer words do not count.
fn dictionary_word(candidate: &str) -> bool {
    let common = |tag: &str| {
        matches!(
            tag,
            "n" | "v"
                | "a"
                | "ad"
                | "an"
                | "d"
                | "nt"
                | "b"
                | "f"
                | "s"
                | "c"
                | "p"
                | "r"
                | "q"
                | "z"
        )
    };
    let function = |tag: &str| matches!(tag, "t" | "d" | "p" | "c" | "r" | "f" | "m" | "q" | "u");
    match candidate.char_indices().nth(2) {
        None => frequent_word(candidate, |t| !person(t)),
        Some((two, _)) => {
            // Each looked up once.
            let (word, prefix) = (entry(candidate), entry(&candidate[..two]));
            let is = |e: Option<(&str, usize)>, kind: fn(&str) -> bool, least: usize| {
                e.is_some_and(|(tag, n)| kind(tag) && n >= least)
            };
            is(word, common, MIN_WORD_FREQ)
                || is(prefix, function, MIN_WORD_FREQ)
                || word.is_some_and(|(tag, n)| {
                    person(tag) && n > 0 && is(prefix, common, VERY_COMMON.max(n + 1))
                })
        }
    }
}

/// Whether `cue` can be a cue before a name: it starts with a Chinese character.
pub fn valid_cue(cue: &str) -> bool {
    cue.chars()
        .next()
        .is_some_and(|c| (c as u32).checked_sub(CJK.0).is_some_and(|k| k < CJK.1))
}

/// The length in bytes of the surname `s` starts with, and whether it is also a common
/// word ([`WORDLIKE_SURNAMES`]).
fn surname_at(s: &str) -> Option<(usize, bool)> {
    let t = sets();
    let c = s.chars().next()?;
    if t.doubles.contains(c) {
        if let Some(d) = DOUBLE_SURNAMES.iter().find(|d| s.starts_with(*d)) {
            return Some((d.len(), false));
        }
    }
    (t.surnames.contains(c)).then(|| (c.len_utf8(), t.wordlike.contains(c)))
}

/// Whether `after` (the text after a surname) starts with a form of address (`王先生`,
/// `张某`, `李家` the family), not a given name (`张家豪`: [`family_name_start`]).
fn titled(after: &str) -> bool {
    TITLES.iter().any(|t| after.starts_with(t)) && !family_name_start(after)
}

/// Whether `after` (the text after a surname) starts with `家` as a given name's first
/// character (`张家豪`, `李家明`, `王家伟`): a character that may end a given name follows
/// it, and none that ends a place's name ([`PLACE_ENDS`]: `潘家园`, `陆家嘴`, `卢家湾`).
/// Otherwise `家` is the family (`张家漏水`, `王家住三楼`).
fn family_name_start(after: &str) -> bool {
    let mut c = after.chars();
    c.next() == Some('家')
        && c.next()
            .is_some_and(|d| sets().given(d) && !PLACE_ENDS.contains(d))
}

/// Characters that end the names of places built on a family's name (`X家园`, `X家湾`,
/// `X家渡`, `X家嘴`, `X家庄`, `X家村`…), and rarely a given name.
const PLACE_ENDS: &str = "园湾渡汇嘴坝峡庄村口沟湖桥坡岭堡屯营寨店铺集河坪塘场港洼窝巷弄楼";

/// Whether `name` (its surname `sur` bytes) holds a character only a sure sign lets into a
/// given name ([`GIVEN_IF_SURE`]) and is more likely a word: of two characters, one of
/// jieba's dictionary (`孙子`, which it tags a name); of three, a frequent word, one whose
/// given name is a frequent word (`金虫子`: `虫子`), or one of the dictionary whose first
/// two are one too (`李子树`, `林荫道`, which it tags names; the dictionary's names stay:
/// `钱其琛`, `张万年`).
fn word_inside(name: &str, sur: usize) -> bool {
    let common = |w: &str| frequent_word(w, |t| !person(t));
    needs_a_sure_sign(&name[sur..])
        && match name.char_indices().nth(2) {
            None => dictionary().has_word(name),
            Some((two, _)) => {
                let jieba = dictionary();
                common(name)
                    || common(&name[sur..])
                    || jieba.has_word(name) && jieba.has_word(&name[..two])
            }
        }
}

/// Whether a given name holds a character it may hold only where the text vouches for a
/// name ([`GIVEN_IF_SURE`]).
fn needs_a_sure_sign(given: &str) -> bool {
    given.chars().any(|c| !sets().given(c) && c != '家')
}

/// The byte lengths of the given names of one and of two characters that `after` (the
/// text after a surname) may start with (0: none), of characters that may be a given
/// name's where the text vouches for it ([`Sets::given_if_sure`]). `家` starts one only
/// with a second character ([`family_name_start`]): `张家` alone is the family.
fn given_lengths(after: &str) -> [usize; 2] {
    let t = sets();
    let family = family_name_start(after);
    let mut out = [0; 2];
    for (k, (i, c)) in after.char_indices().take(2).enumerate() {
        if !(t.given_if_sure(c) || k == 0 && family) {
            break;
        }
        out[k] = i + c.len_utf8();
    }
    if family {
        out[0] = 0;
    }
    out
}

/// How a name may end before a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// Not there.
    No,
    /// At punctuation, the end, or a word that follows names ([`FOLLOWING`]).
    Sure,
    /// Before a word of two characters that jieba's dictionary knows at least
    /// [`MIN_WORD_FREQ`] times other than as a name (`到场`, `查看`, `上门`: `民警赵磊到场`).
    Word,
}

/// Where `rest` (the text after a name) lets the name end.
fn ends_name(rest: &str) -> End {
    match rest.chars().next() {
        None => End::Sure,
        Some(c) if !han(c) => End::Sure,
        Some(_) if FOLLOWING.iter().any(|f| rest.starts_with(f)) => End::Sure,
        Some(_)
            if word_starts(rest) || rest.starts_with(SUBJECT_ADVERBS) || rest.starts_with('家') =>
        {
            End::Word
        }
        Some(_) => End::No,
    }
}

/// Adverbs that follow a sentence's subject (`房东王建国不退押金`, `业主李秀英已多次反映`,
/// `店主刘建军还占道`): a name may end before one as before a word ([`End::Word`]), and
/// before `家` (`楼上邻居张丽华家漏水`). None starts or continues a given name here
/// ([`NOT_GIVEN`]).
const SUBJECT_ADVERBS: [char; 8] = ['不', '没', '已', '也', '都', '就', '还', '又'];

/// Whether `rest` starts with a frequent two-character word of the dictionary that is not
/// a person's name.
fn word_starts(rest: &str) -> bool {
    let Some((two, c)) = rest.char_indices().nth(1) else {
        return false;
    };
    let word = &rest[..two + c.len_utf8()];
    word.chars().all(han) && frequent_word(word, |t| !person(t))
}

/// The length in bytes of the name `s` starts with: a surname and one or two given
/// characters, the longer when it ends where a name ends ([`ends_name`]), else the shorter
/// when that does; with `strict`, one of them must, and a surname that is also a common
/// word needs two. Without `wordlike`, such a surname starts no name.
fn name_at(s: &str, strict: bool, wordlike: bool) -> Option<usize> {
    let (sur, common_word) = surname_at(s)?;
    if common_word && !wordlike && strict {
        return None;
    }
    let after = &s[sur..];
    if titled(after) {
        return None;
    }
    let [g1, g2] = given_lengths(after);
    let one = (g1 > 0).then_some(sur + g1);
    let two = (g2 > 0).then_some(sur + g2);
    one.or(two)?;
    // A surname that starts common words (`许多`, `方面`, `何时`), where no cue vouches for
    // a name: one that ends surely (punctuation, a word that follows names) and is no word
    // of the dictionary (`业主马丽反映`, `。何静反映`; not `业主许多反映`, `。方面表示`).
    let surely_no_word = |n: usize| {
        ends_name(&s[n..]) == End::Sure && !word_inside(&s[..n], sur) && {
            let jieba = dictionary();
            match s[..n].char_indices().nth(2) {
                None => !jieba.has_word(&s[..n]),
                Some((two, _)) => {
                    !jieba.has_word(&s[..n])
                        && !frequent_word(&s[..two], |_| true)
                        && !frequent_word(&s[sur..n], |_| true)
                }
            }
        }
    };
    if common_word && !wordlike {
        return [two, one]
            .into_iter()
            .flatten()
            .find(|&n| surely_no_word(n));
    }
    // Where no colon nor naming cue vouches for a name (the certain path is the one not
    // strict that takes a wordlike surname), a name with a character only a sure sign lets
    // in must be no word of the dictionary (`邻居孙子在楼道玩火`), nor its given name a
    // frequent word (`找金虫子`, `林荫道`).
    let certain = !strict && wordlike;
    let ends = |n: usize| match ends_name(&s[n..]) {
        _ if !certain && word_inside(&s[..n], sur) => false,
        End::No => false,
        End::Sure => true,
        // Before a word, a weaker sign: not after a surname that starts common words
        // (`本人于清明假期`, `常经过西安`), and a name of two characters must be no word
        // of the dictionary at all, a name's included (`业主张贴公告`: jieba tags `张贴` a
        // name; `业主钱款被骗`: `钱款` is there 8 times).
        // Nor for a name with a character only a surer sign lets in (`业主周一停水`).
        End::Word => {
            !(common_word
                || Some(n) == one && word_freq(&s[..n], |_| true) > 0
                || needs_a_sure_sign(&s[sur..n]))
        }
    };
    match two {
        Some(two) if ends(two) => Some(two),
        // `业主方面表示`, `居民曾经反映`: a surname that is a word's first character, with
        // one more, is more often the word.
        _ if strict && common_word => {
            one.filter(|&n| surely_no_word(n) || word_after_name(s, sur, n))
        }
        _ if one.is_some_and(ends) => one,
        _ if strict => None,
        // After a colon the name is there; which length is a guess: the longer.
        _ => two.or(one),
    }
}

/// The length of the name of three characters `s` starts with after a role, when neither
/// the rules nor the segmenter found one there: a surname that starts no common word and two
/// given characters that need no sure sign, no word of the dictionary, nor the start of a
/// longer one (`胡作非为`: [`starts_long_word`]) or a place's name (`董家山村`:
/// [`PLACE_KINDS`]). Before a word of the dictionary however rare, where nothing else ends
/// it ([`starts_word`]: `乱倒垃圾` 3 times, `拒交` 5 —
/// `保洁员陈家豪乱倒垃圾`, `居民李秀英拒交物业费`) its last character must end a few of
/// the dictionary's names ([`RARE_NAME_END`]); before any other text
/// (`房东王欣怡拒退押金`, `院长王景龙记个人二等功`), [`COMMON_NAME_END`], and its first two
/// characters must be no word of the dictionary (`司机胡乱开价`, `女儿罗莎相识`, `业主梁柱开裂`)
/// unless `家` starts the given name (`谢家华`).
fn name_of_three(s: &str) -> Option<usize> {
    let (sur, common_word) = surname_at(s)?;
    if common_word || titled(&s[sur..]) {
        return None;
    }
    let after = &s[sur..];
    let [one, two] = given_lengths(after);
    let n = sur + two;
    let last = s[..n].chars().next_back().map_or(0, names_ending_with);
    // Looked up here, not in `ends_name`: the rules take no name before a rare word.
    let rare_word = ends_name(&s[n..]) == End::No && starts_word(&s[n..]);
    let least = if rare_word {
        RARE_NAME_END
    } else {
        COMMON_NAME_END
    };
    (n > sur
        && last >= least
        && (rare_word || family_name_start(after) || !dictionary().has_word(&s[..sur + one]))
        && !s[n..].starts_with(PLACE_KINDS)
        && !starts_long_word(s)
        && !needs_a_sure_sign(&s[sur..n])
        && !dictionary().has_word(&s[..n]))
    .then_some(n)
}

/// Whether the name of two `s[..n]` (its surname `sur` bytes, one that starts common words)
/// ends before a word (`维修工许超态度恶劣`, `业主马丽多次投诉`): it is no word of the
/// dictionary, nor with the next character, and many of the dictionary's names end with its
/// given character ([`COMMON_NAME_END`]), unlike `许多`'s or `高度`'s. Not after a surname
/// that is itself an adverb, preposition or conjunction (`曾`, `常`, `边`, `于`, `向`:
/// `本人曾问服务员`, `市民常提意见`), nor where an idiom starts (`于心不忍`).
fn word_after_name(s: &str, sur: usize, n: usize) -> bool {
    let jieba = dictionary();
    let function = |tag: &str| matches!(tag, "d" | "p" | "c");
    ends_name(&s[n..]) == End::Word
        && !entry(&s[..sur]).is_some_and(|(tag, _)| function(tag))
        && !starts_long_word(s)
        && !jieba.has_word(&s[..n])
        && !needs_a_sure_sign(&s[sur..n])
        && s[sur..n]
            .chars()
            .next()
            .is_some_and(|c| names_ending_with(c) >= COMMON_NAME_END)
        && s[n..]
            .chars()
            .next()
            .is_none_or(|c| !jieba.has_word(&s[..n + c.len_utf8()]))
}

/// Characters that follow a place's name (`董家山村`, `林格尔县`, `郑州市`): three characters
/// before one are a place rather than a name.
const PLACE_KINDS: [char; 18] = [
    '村', '县', '镇', '乡', '市', '区', '路', '街', '巷', '寨', '庄', '屯', '院', '局', '厂', '校',
    '园', '湾',
];

/// Whether `s` starts with a word of the dictionary of four to seven characters, an idiom
/// or a foreign name (`胡作非为`, `付之东流`, `苏格拉底`), which no name of three starts.
fn starts_long_word(s: &str) -> bool {
    (s.char_indices().take_while(|&(_, c)| han(c)))
        .skip(3)
        .take(4)
        .any(|(i, c)| dictionary().has_word(&s[..i + c.len_utf8()]))
}

/// `text` with the names the built-in cues introduce masked ([`Names::mask`]).
pub fn mask_names(text: Cow<'_, str>) -> Cow<'_, str> {
    Names::builtin().mask(text)
}

/// The names a reporter cell holds: the parts between separators, without a trailing `等` or
/// `等N人`, that are a surname and one to three more Chinese characters (no form of address:
/// `王先生` names no one), or a minority name with `·`. A phone number, an openid, `匿名` or
/// `业主` holds none.
pub fn reporter_names(reporter: &str) -> Vec<&str> {
    if reporter.is_ascii() {
        return vec![];
    }
    (reporter.split(['、', ',', '，', '/', ';', '；', ' ']))
        .map(|p| {
            let p = p.trim();
            match p.find('等') {
                Some(i) if i > 0 => &p[..i],
                _ => p,
            }
        })
        .filter(|p| {
            let n = p.chars().count();
            let minority = p.contains('·');
            (2..=12).contains(&n)
                && p.chars().all(|c| han(c) || c == '·')
                && p.chars().filter(|&c| han(c)).count() >= 2
                && (minority || (n <= 4 && surname_at(p).is_some_and(|(s, _)| !titled(&p[s..]))))
        })
        .collect()
}

/// `text` with each of the row's reporter `names` (see [`reporter_names`]) masked wherever
/// it occurs; borrowed when none does.
pub fn mask_own_names<'a>(text: Cow<'a, str>, names: &[&str]) -> Cow<'a, str> {
    let ranges: Vec<Range<usize>> = (names.iter())
        .flat_map(|n| text.match_indices(n).map(|(i, _)| i..i + n.len()))
        .collect();
    if ranges.is_empty() {
        return text;
    }
    Cow::Owned(replaced(&text, ranges, NAME_MASK))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mask(t: &str) -> String {
        mask_names(t.into()).into_owned()
    }

    /// Each of `masked` masks as given; each of `kept` stays as it is.
    fn assert_masks(masked: &[(&str, &str)], kept: &[&str]) {
        assert_masks_by(Names::builtin(), masked, kept);
    }

    /// [`assert_masks`] with `names`' cues and terms.
    fn assert_masks_by(names: &Names, masked: &[(&str, &str)], kept: &[&str]) {
        for (text, want) in masked {
            assert_eq!(names.mask((*text).into()), *want, "{text}");
        }
        for text in kept {
            assert_eq!(names.mask((*text).into()), *text);
        }
    }

    #[test]
    fn names_after_a_cue_are_masked() {
        for (text, want) in [
            (
                "信访人王建国反映小区电梯停运",
                "信访人[姓名]反映小区电梯停运",
            ),
            ("信访人王芳反映电梯停运", "信访人[姓名]反映电梯停运"),
            (
                "联系人：李秀英，电话[手机号]",
                "联系人：[姓名]，电话[手机号]",
            ),
            ("姓名：王芳性别：女", "姓名：[姓名]性别：女"),
            ("姓名:欧阳娜娜", "姓名:[姓名]"),
            ("我叫张伟，住3号楼", "我叫[姓名]，住3号楼"),
            ("本人刘德华，", "本人[姓名]，"),
            ("业主陈志强的车位被占", "业主[姓名]的车位被占"),
            ("我是赵敏", "我是[姓名]"),
            ("请联系网格员郑丽", "请联系网格员[姓名]"),
            ("业主高建国反映", "业主[姓名]反映"),
            ("诉求人王建国表示", "诉求人[姓名]表示"),
            ("物业经理张志强电话[手机号]", "物业经理[姓名]电话[手机号]"),
            ("其母亲王秀英，", "其母亲[姓名]，"),
            ("被投诉人李强的店铺", "被投诉人[姓名]的店铺"),
            ("联系人：方芳", "联系人：[姓名]"),
            ("我叫马敏，", "我叫[姓名]，"),
            ("我叫马敏住在3栋", "我叫[姓名]住在3栋"),
        ] {
            assert_eq!(mask(text), want, "{text}");
        }
    }

    #[test]
    fn names_before_a_contact_are_masked() {
        for (text, want) in [
            (
                "电梯坏了，王建国电话[手机号]",
                "电梯坏了，[姓名]电话[手机号]",
            ),
            (
                "电梯坏了。李秀英，手机[手机号]",
                "电梯坏了。[姓名]，手机[手机号]",
            ),
            ("请联系周杰[手机号]", "请联系[姓名][手机号]"),
            ("王建国等15人集体来访", "[姓名]等15人集体来访"),
            ("近日，李秀英等二十余人反映", "近日，[姓名]等二十余人反映"),
            ("信访人赵敏等人反映", "信访人[姓名]等人反映"),
        ] {
            assert_eq!(mask(text), want, "{text}");
        }
    }

    #[test]
    fn names_before_a_verb_of_reporting_are_masked() {
        assert_masks(
            &[
                ("王建国反映小区电梯停运", "[姓名]反映小区电梯停运"),
                (
                    "电梯坏了。李秀英来电反映物业不管",
                    "电梯坏了。[姓名]来电反映物业不管",
                ),
                ("近日，张伟称物业不作为", "近日，[姓名]称物业不作为"),
                ("周志强表示，", "[姓名]表示，"),
                ("，郑丽要求退费", "，[姓名]要求退费"),
                // After a post or trade the cues do not list, where jieba's segmenter cuts
                // the name.
                ("研究员黄健豪表示，", "研究员[姓名]表示，"),
                ("物业员工刘洋，电话[手机号]", "物业员工[姓名]，电话[手机号]"),
            ],
            &[
                "居委会陈述称",
                "物业前台张贴通知称",
                "物业公司黄经理称",
                "居委会郑重表示",
            ],
        );
    }

    /// A name followed by a word of the dictionary ends there; a surname that starts common
    /// words, or a name-shaped word, followed so is no name.
    #[test]
    fn a_name_ends_before_a_dictionary_word() {
        assert_masks(
            &[
                ("网格员刘海峰上门走访", "网格员[姓名]上门走访"),
                ("业主李秀英多次投诉", "业主[姓名]多次投诉"),
                ("联系人：王芳查看后回复", "联系人：[姓名]查看后回复"),
                ("民警赵磊查看现场", "民警[姓名]查看现场"),
            ],
            &[
                "本人于清明假期入住",
                "本人常经过西安",
                "业主张贴公告",
                "居民陈述意见",
                "业主钱款被骗",
            ],
        );
    }

    /// After a role, a name before text that is no word a name ends before: jieba's
    /// segmenter cuts it; words it tags names in the dictionary stay.
    #[test]
    fn the_segmenter_finds_a_name_the_rules_cannot_end() {
        assert_masks(
            &[
                ("店主刘建军占道经营", "店主[姓名]占道经营"),
                ("保洁员赵小红乱倒垃圾", "保洁员[姓名]乱倒垃圾"),
                ("物业经理王卫东拒不维修", "物业经理[姓名]拒不维修"),
                ("房东刘洋拒退押金", "房东[姓名]拒退押金"),
                ("邻居张丽华家漏水", "邻居[姓名]家漏水"),
                ("店主胡梓萱占道经营", "店主[姓名]占道经营"),
                ("业主王建国和赵小红乱倒垃圾", "业主[姓名]和[姓名]乱倒垃圾"),
            ],
            &[
                "业主张贴公告",
                "邻居孙子吵闹",
                "业主周末在家",
                "居民曾经反映",
                "业主高度重视",
                "店主常年占道",
                "业主钱款被骗",
            ],
        );
    }

    /// A name of two before a verb the rules would cut into (`拒不`, `占道`, `亲自`): the
    /// segmenter's cut keeps the verb whole; names of three it cuts short stay whole.
    #[test]
    fn a_name_of_two_leaves_the_verb_after_it_whole() {
        assert_masks(
            &[
                ("房东张伟拒不退押金", "房东[姓名]拒不退押金"),
                ("店主张伟占道经营", "店主[姓名]占道经营"),
                ("物业经理陈勇拒不维修", "物业经理[姓名]拒不维修"),
                ("董事长郭炎亲自带队", "董事长[姓名]亲自带队"),
                // The segmenter's cut is `陈焕` + `新`, `周绍` + `铮`, `赵梓` + `萱`,
                // `韦德` (a dictionary name) + `云`.
                ("总经理陈焕新介绍说", "总经理[姓名]介绍说"),
                ("委员会主任周绍铮主持。", "委员会主任[姓名]主持。"),
                ("业主赵梓萱多次投诉", "业主[姓名]多次投诉"),
                ("民警韦德云到场查看", "民警[姓名]到场查看"),
                ("业主李秀英多次反映", "业主[姓名]多次反映"),
                // The segmenter cuts `王丽拒`, `李娜` + `占`: no name of jieba's
                // dictionary ends with `拒`, four with `占`.
                ("物业经理王丽拒不维修", "物业经理[姓名]拒不维修"),
                ("店主李娜占道经营", "店主[姓名]占道经营"),
                ("房东王浩拒不退押金", "房东[姓名]拒不退押金"),
            ],
            &[],
        );
    }

    #[test]
    fn few_names_end_with_a_verbs_first_character() {
        for c in ['拒', '占', '乱', '态', '投'] {
            assert!(rarely_ends_a_name(c), "{c}");
        }
        for c in ['英', '华', '强', '伟', '兰', '建'] {
            assert!(!rarely_ends_a_name(c), "{c}");
        }
        // Every line of the table is a character and a count.
        let lines = NAME_ENDS.lines().filter(|l| !l.starts_with('#'));
        assert!(lines.clone().count() > 2000);
        for l in lines {
            let (c, n) = l.split_once(' ').unwrap();
            assert_eq!(c.chars().count(), 1, "{l}");
            assert!(n.parse::<u32>().unwrap() > 0, "{l}");
        }
    }

    #[test]
    fn a_wordlike_surname_with_one_given_character_before_a_word() {
        assert_masks(
            &[
                ("维修工许超态度恶劣", "维修工[姓名]态度恶劣"),
                ("记者何伟报道", "记者[姓名]报道"),
                ("会长万云介绍", "会长[姓名]介绍"),
            ],
            &[
                // A surname that is an adverb or a preposition, an idiom, a word.
                "本人曾问服务员",
                "市民常提意见",
                "他老伴边用围裙擦手",
                "业主于心不忍",
                "业主许多不满",
                "业主高度重视",
                "业主马上到场",
            ],
        );
    }

    #[test]
    fn a_surname_the_segmenter_cuts_from_its_given_name() {
        assert_masks(
            &[
                // `王` `秀英`, `宋` `海燕`, `姜` `俊杰`: each tagged a person's. The first
                // two are found no other way: `朱红` is a word, `天` a given name's
                // character only where a name is vouched for, and few names end with `祝`.
                ("房东朱红梅拒退押金", "房东[姓名]拒退押金"),
                ("副总经理傅天祝先生还将", "副总经理[姓名]先生还将"),
                ("邻居王秀英乱倒垃圾", "邻居[姓名]乱倒垃圾"),
                ("房东宋海燕拒退押金", "房东[姓名]拒退押金"),
                ("物业经理姜俊杰拒不维修", "物业经理[姓名]拒不维修"),
                ("房东王玉兰拒不退押金", "房东[姓名]拒不退押金"),
            ],
            &["业主王老师乱倒垃圾", "邻居张贴乱倒垃圾告示"],
        );
    }

    #[test]
    fn a_name_of_three_before_a_rare_word() {
        assert_masks(
            &[
                // `乱倒垃圾` (3 times in the dictionary), `拒交` (5), `一语`: rare words.
                ("保洁员陈家豪乱倒垃圾", "保洁员[姓名]乱倒垃圾"),
                ("居民李秀英拒交物业费", "居民[姓名]拒交物业费"),
                ("派出所所长陈书生一语破的", "派出所所长[姓名]一语破的"),
                // A shorter name before a stronger sign (`带领`) and the segmenter's
                // name of two (`李舸`) come first: not `黄启带` + `领书`, `李舸杨` + `文道`.
                ("第一书记黄启带领书记处成员", "第一书记[姓名]带领书记处成员"),
                ("本报记者李舸杨文道", "本报记者[姓名]杨文道"),
            ],
            &["业主张女士乱倒垃圾", "业主陈某某拒交物业费"],
        );
    }

    #[test]
    fn a_name_of_three_ending_with_a_names_character_where_nothing_ends_it() {
        assert_masks(
            &[
                // `怡`, `龙`, `泉` end many names; `拒退`, `记个` and `受省` are no words.
                ("房东王欣怡拒退押金", "房东[姓名]拒退押金"),
                ("院长王景龙记个人二等功", "院长[姓名]记个人二等功"),
                ("省委书记熊清泉受省委委托", "省委书记[姓名]受省委委托"),
                ("记者谢家华摄", "记者[姓名]摄"),
            ],
            &[
                // The first two are a word (`胡乱`, `罗莎`, `梁柱`), the three start an idiom
                // or a place.
                "司机胡乱开价",
                "女儿罗莎相识并相爱",
                "业主梁柱开裂",
                "业主胡作非为",
                "业主苏格拉底",
                "业主董家山村分户",
                "业主林格尔县教委",
            ],
        );
    }

    /// After a role, a name ends before one of the district's terms, where the rules find
    /// no end and the segmenter cuts a verb's first character into the name; a word before
    /// a term stays.
    #[test]
    fn a_name_ends_before_a_term_of_the_district() {
        let terms = [
            "私搭乱建",
            "占道经营",
            "漏水",
            "物业费",
            "绿化",
            "停水",
            "旧改",
        ];
        let names = Names::new(&[]).with_terms(terms);
        let cases = [
            ("邻居张伟私搭乱建", "邻居[姓名]私搭乱建"),
            ("邻居王秀英私搭乱建", "邻居[姓名]私搭乱建"),
            ("业主刘洋和陈勇私搭乱建", "业主[姓名]和[姓名]私搭乱建"),
            ("店主王秀英占道经营", "店主[姓名]占道经营"),
        ];
        let kept = [
            "业主杨树绿化",
            "业主孔洞漏水",
            "业主钱款物业费",
            "业主陆续停水",
            "店主常年占道经营",
            "业主苏联式旧改",
            "业主王先生漏水",
        ];
        assert_masks_by(&names, &cases, &kept);
        // Without the terms the segmenter takes `私` (`[姓名]搭乱建`); `王秀英` it cuts as
        // `王` `秀英`, a name either way.
        for (text, want) in cases {
            assert_eq!(mask(text) == want, text.contains("王秀英"), "{text}");
        }
    }

    /// `家` starts a given name when a given name's character follows it (`张家豪`,
    /// `李家明`); otherwise it is the family (`张家漏水`) or a place (`潘家园`).
    #[test]
    fn a_given_name_may_start_with_jia() {
        assert_masks(
            &[
                (
                    "联系人：张家豪，电话[手机号]",
                    "联系人：[姓名]，电话[手机号]",
                ),
                ("我叫李家明，住3栋", "我叫[姓名]，住3栋"),
                ("业主张家豪反映电梯故障", "业主[姓名]反映电梯故障"),
                ("电梯停运。王家伟反映多次", "电梯停运。[姓名]反映多次"),
                ("陈家俊等5人反映", "[姓名]等5人反映"),
            ],
            &[
                "邻居张家装修扰民",
                "邻居张家漏水",
                "业主王家住在3楼",
                "邻居张家小孩吵闹",
                "邻居王家两口子吵架",
                "邻居张家的狗乱叫",
                "业主潘家园拆迁安置",
                "居民陆家嘴拆迁补偿",
                "联系人：王家",
            ],
        );
        assert_eq!(reporter_names("张家豪、李家"), ["张家豪"]);
    }

    /// Given names with characters that are also words of time, number or grammar
    /// (`子涵`, `一鸣`, `天宇`, `建中`) where the text vouches for a name: after a colon
    /// or a naming cue, or ending at punctuation or a verb of reporting; not where it ends
    /// only before a word, nor as a word of the dictionary.
    #[test]
    fn given_names_of_ordinary_characters_where_the_text_vouches_for_a_name() {
        assert_masks(
            &[
                (
                    "联系人：王子涵，电话[手机号]",
                    "联系人：[姓名]，电话[手机号]",
                ),
                ("我叫李子轩，住3栋", "我叫[姓名]，住3栋"),
                ("我叫李天明", "我叫[姓名]"),
                ("联系人：赵一帆", "联系人：[姓名]"),
                ("业主张一鸣反映电梯故障", "业主[姓名]反映电梯故障"),
                ("信访人刘天宇反映", "信访人[姓名]反映"),
                ("业主李建中反映", "业主[姓名]反映"),
                ("电梯停运。陈子豪反映", "电梯停运。[姓名]反映"),
                ("联系人：李向东", "联系人：[姓名]"),
                ("业主王建业反映", "业主[姓名]反映"),
                ("我叫张来福", "我叫[姓名]"),
            ],
            &[
                "业主周一停水",
                "业主周一反映",
                "邻居孙子天天哭闹",
                "邻居孙子在楼道玩火",
                "喜欢找金虫子。",
                "业主李子树",
                "业主林荫道",
                "居民于一天晚上",
            ],
        );
    }

    /// Surnames beyond the commonest: those that start common words only with two given
    /// characters after a role.
    #[test]
    fn less_common_surnames_are_names_too() {
        assert_masks(
            &[
                ("联系人：颜丽华", "联系人：[姓名]"),
                ("信访人樊建国反映", "信访人[姓名]反映"),
                ("电梯停运。倪红梅反映", "电梯停运。[姓名]反映"),
                ("我叫温晓燕", "我叫[姓名]"),
            ],
            &[
                "业主申请维修",
                "业主尚未交房",
                "业主费用过高",
                "居民简单维修",
                "业主管道漏水",
                "业主车位被占",
                "业主应该维修",
                "保安卫生间漏水",
                "确保安全生产",
            ],
        );
        // A cell of a column that should hold no name.
        let names = Names::builtin();
        assert!(names.is_a_name("颜丽华") && names.is_a_name("申建国"));
        assert!(!names.is_a_name("阳光花园") && !names.is_a_name("华为手机"));
    }

    /// A surname that starts common words (`马`, `何`, `许`, `高`) with one given character,
    /// where no colon vouches for a name: one that ends surely and is no word of the
    /// dictionary.
    #[test]
    fn a_wordlike_surname_with_one_given_character_where_the_end_is_sure() {
        assert_masks(
            &[
                ("业主马丽反映", "业主[姓名]反映"),
                ("信访人何静反映", "信访人[姓名]反映"),
                ("居民许强投诉", "居民[姓名]投诉"),
                ("电梯停运。马丽反映", "电梯停运。[姓名]反映"),
                // `多次`, `再次`, `一直` follow a complaint's subject as its verb does.
                ("业主马丽多次反映电梯故障", "业主[姓名]多次反映电梯故障"),
                ("居民高伟再次投诉", "居民[姓名]再次投诉"),
            ],
            &[
                "业主许多多次反映",
                "业主方面一直表示",
                "业主许多反映",
                "业主方面反映",
                "居民曾经反映",
                "业主何时反映",
                "业主白天反映",
                "电梯停运。方面表示",
                "应客人要求，",
                "我是管你的",
            ],
        );
    }

    /// A name alone in a text's last sentence signs it; a closing stays.
    #[test]
    fn a_name_that_signs_a_text_is_masked() {
        assert_masks(
            &[
                (
                    "电梯坏了三天，请尽快维修。李明",
                    "电梯坏了三天，请尽快维修。[姓名]",
                ),
                ("楼道堆放杂物！郭靖。", "楼道堆放杂物！[姓名]。"),
                ("请尽快处理。王建国 ", "请尽快处理。[姓名] "),
                ("噪音扰民。欧阳娜娜", "噪音扰民。[姓名]"),
            ],
            &[
                "请尽快维修。谢谢",
                "请尽快维修。周知",
                "请尽快维修。祝好",
                "请尽快维修。谢过",
                "请尽快维修。万分感谢",
                "请尽快维修，李明",
                "请尽快维修。李明到场",
                "请尽快维修。张贴",
            ],
        );
    }

    #[test]
    fn names_after_a_post_are_masked_and_words_after_one_stay() {
        for (text, want) in [
            ("社区书记李强称会协调", "社区书记[姓名]称会协调"),
            ("。院长王德云表示", "。院长[姓名]表示"),
            ("物业管家王芳说下周修", "物业管家[姓名]说下周修"),
            ("民警赵磊到场", "民警[姓名]到场"),
            ("保洁员赵敏反映", "保洁员[姓名]反映"),
            ("房东王建国不退押金", "房东[姓名]不退押金"),
            ("业主李秀英已多次反映", "业主[姓名]已多次反映"),
            ("楼上邻居张丽华家漏水", "楼上邻居[姓名]家漏水"),
            ("门卫李秀英说", "门卫[姓名]说"),
            ("客服专员刘芳回复", "客服专员[姓名]回复"),
            // Before these were cues, a name after them was found only where the segmenter
            // cut it after the word (not `谢立新`, `杨秀英`, `毛洋`).
            ("物业员工谢立新称明天维修", "物业员工[姓名]称明天维修"),
            (
                "业委会成员杨秀英反映账目不公开",
                "业委会成员[姓名]反映账目不公开",
            ),
            ("外卖员毛洋投诉小区不让进", "外卖员[姓名]投诉小区不让进"),
            ("施工队谢立新要求结清工钱", "施工队[姓名]要求结清工钱"),
            // `工作人员` only before a verb of reporting or a contact.
            (
                "。工作人员毛洋表示会尽快处理",
                "。工作人员[姓名]表示会尽快处理",
            ),
            (
                "工作人员杨秀英，电话[手机号]",
                "工作人员[姓名]，电话[手机号]",
            ),
            (
                "保安队长刘建军，电话[手机号]",
                "保安队长[姓名]，电话[手机号]",
            ),
        ] {
            assert_eq!(mask(text), want, "{text}");
        }
        // A post's letters inside other words, and a surname with a post.
        for text in [
            "小区长期无人管理",
            "该场所长期占道经营",
            "排队长龙现象严重",
            "确保安全",
            "王主任说会处理",
            "书记高度重视",
            "主任于昨日到场",
            "开会长达三小时",
            "保洁员每天打扫",
            "城管执法",
            "维修人员马上到场",
            "员工工资被拖欠",
            "成员名单未公示",
            "快递员乱放快递",
            "工作人员戴胸卡上岗",
            "工作人员王建国家中",
            "老板说不退",
            "居民张贴不实信息",
            "业主高度不满",
            "业主方也同意",
            "业主张家漏水",
            "邻居家漏水",
            "居民大家都反映",
            // jieba tags these `nr`; each starts with a very common word
            "瞻仰毛主席纪念堂",
            "业主严重性，",
        ] {
            assert_eq!(mask(text), text);
        }
        // Names the dictionary holds after a less common word stay names.
        for (text, want) in [
            ("社区书记程文华称", "社区书记[姓名]称"),
            ("社区书记周长福称", "社区书记[姓名]称"),
        ] {
            assert_eq!(mask(text), want, "{text}");
        }
    }

    #[test]
    fn names_listed_beside_a_name_are_masked() {
        for (text, want) in [
            (
                "王建国、李秀英等15人集体来访",
                "[姓名]、[姓名]等15人集体来访",
            ),
            ("业主王建国和李秀英反映", "业主[姓名]和[姓名]反映"),
            (
                "信访人王建国、李秀英、张伟反映",
                "信访人[姓名]、[姓名]、[姓名]反映",
            ),
            (
                "近日，王建国和李秀英等人来访",
                "近日，[姓名]和[姓名]等人来访",
            ),
            // What follows a listed name must end it.
            ("业主王建国和物业公司协商", "业主[姓名]和物业公司协商"),
            ("业主王建国和张贴公告的人", "业主[姓名]和张贴公告的人"),
            // A surname that starts common words, under the rules after a role.
            ("信访人林霞、曾德云反映", "信访人[姓名]、[姓名]反映"),
            ("业主王建国和高立新反映", "业主[姓名]和[姓名]反映"),
            ("业主王建国和高层住户协商", "业主[姓名]和高层住户协商"),
            ("业主王建国和方面负责人反映", "业主[姓名]和方面负责人反映"),
        ] {
            assert_eq!(mask(text), want, "{text}");
        }
    }

    #[test]
    fn words_shaped_like_names_stay() {
        // Each is a surname and one or two more characters where a name may stand; jieba's
        // dictionary knows them as words, or their first two as a time or function word.
        for text in [
            "业主陆续反映电梯故障",
            "，陆续反映问题",
            "居民付款的时候",
            "我是凌晨入住的",
            "致信物业，郑重地表示不满",
            "居民辛苦的劳动",
            "电梯坏了。黄河反映",
            "居民高血压的问题",
        ] {
            assert_eq!(mask(text), text, "{text}");
        }
    }

    #[test]
    fn the_districts_places_are_no_names() {
        let text = "电梯坏了。丁香园反映多次";
        assert_eq!(mask(text), "电梯坏了。[姓名]反映多次");
        let names = Names::new(&[]).with_places(["丁香园小区", "龙湾"]);
        assert_eq!(names.mask(text.into()), text);
        assert_eq!(names.mask("业主丁香园反映".into()), "业主丁香园反映");
        // A colon vouches for a name, whatever it looks like.
        assert_eq!(names.mask("联系人：丁香园".into()), "联系人：[姓名]");
        assert_eq!(
            names.mask("电梯坏了。李秀英反映".into()),
            "电梯坏了。[姓名]反映"
        );
    }

    #[test]
    fn ordinary_words_and_forms_of_address_stay() {
        for text in [
            "市民王先生来电反映小区停水",
            "业主李女士反映",
            "信访人张某某反映拆迁补偿",
            "居民于近日发现漏水",
            "业主周末在小区遛狗",
            "本人于去年购房",
            "业主们反映物业费上涨",
            "业主委员会选举",
            "业主张贴公告",
            "小区门口张贴电话号码",
            "，包括电话、手机",
            "，高层电话不通",
            "方便电话联系",
            "我是本小区业主",
            "业主方面表示不满",
            "居民曾经反映过此事",
            "业主施工的噪音",
            "居民凌晨的时候",
            "业主周围的环境",
            "诉求人表示不满",
            "物业负责人员未到场",
            "儿子上学不便",
            "王经理答应维修",
            "经理办公室无人",
            "居民等20人反映",
            "，包括业主等30人",
            "等待维修",
            "王建国等待回复",
            "电梯等设施老化",
            "我是一名退休教师",
            "联系电话[手机号]",
            "市民来电反映",
            "要求物业联系电话回复",
            "3号楼12层漏水",
        ] {
            assert_eq!(mask(text), text, "{text}");
        }
    }

    #[test]
    fn a_reporter_cell_gives_its_names() {
        assert_eq!(reporter_names("王建国"), ["王建国"]);
        assert_eq!(reporter_names("王建国、李秀英等15人"), ["王建国", "李秀英"]);
        assert_eq!(reporter_names("张三等"), ["张三"]);
        assert_eq!(reporter_names("王和平"), ["王和平"]);
        assert_eq!(reporter_names("阿卜杜·热合曼"), ["阿卜杜·热合曼"]);
        assert!(reporter_names("13812345678").is_empty());
        assert!(reporter_names("oX1a2b3c4d5e").is_empty());
        assert!(reporter_names("王").is_empty());
        assert!(reporter_names("居民12").is_empty());
        for nobody in ["匿名", "业主", "物业公司", "王先生", "张某某"] {
            assert!(reporter_names(nobody).is_empty(), "{nobody}");
        }
        let text = "王建国与李秀英等反映，王建国多次来访".into();
        assert_eq!(
            mask_own_names(text, &reporter_names("王建国、李秀英")),
            "[姓名]与[姓名]等反映，[姓名]多次来访"
        );
        let text: Cow<'_, str> = "电梯停运".into();
        assert!(matches!(
            mask_own_names(text, &["王建国"]),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn a_cell_that_is_a_name_is_told_from_a_label() {
        let names = Names::new(&[]).with_places(["丁香园小区"]);
        for name in ["王建国", "李芳", " 欧阳娜娜 ", "阿卜杜·热合曼"] {
            assert!(names.is_a_name(name), "{name}");
        }
        for label in [
            "电梯故障",
            "金融",
            "高血压",
            "物业",
            "王先生",
            "供暖",
            "王建国、李秀英",
            "丁香园",
            "",
        ] {
            assert!(!names.is_a_name(label), "{label}");
        }
    }

    proptest::proptest! {
        /// The cues are found as a leftmost-longest automaton over them finds them.
        #[test]
        fn cues_are_found_as_an_automaton_finds_them(
            parts in proptest::collection::vec(0usize..60, 0..30)
        ) {
            let pieces: Vec<&str> = all_cues().map(|(c, _)| c)
                .chain(["人", "联", "本", "电", "[", "王", "a", "，", "手机号]", "号", "é", "😀"])
                .collect();
            let text: String = parts.iter().map(|&p| pieces[p % pieces.len()]).collect();
            let ac = aho_corasick::AhoCorasick::builder()
                .match_kind(aho_corasick::MatchKind::LeftmostLongest)
                .build(all_cues().map(|(c, _)| c))
                .unwrap();
            let kinds: std::collections::HashMap<&str, Kind> = all_cues().collect();
            let want: Vec<(Range<usize>, Kind)> = ac
                .find_iter(&text)
                .map(|m| (m.range(), kinds[&text[m.range()]]))
                .collect();
            let mut got = vec![];
            Names::builtin().find_cues(&text, |m, kind| got.push((m, kind)));
            proptest::prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn a_districts_own_cues_are_added_to_the_built_in_ones() {
        // A name of two characters the dictionary holds: jieba's segmenter is no evidence
        // for it ([`segmented_after`]), the district's cue is.
        let text = "报修人李强称，联系人：李秀英";
        assert_eq!(mask(text), "报修人李强称，联系人：[姓名]");
        let names = Names::new(&["报修人".into(), "tenant".into(), "联系人".into()]);
        assert_eq!(names.mask(text.into()), "报修人[姓名]称，联系人：[姓名]");
        // Before a contact, after the district's cue.
        assert_eq!(
            names.mask("请报修人王芳电话[手机号]".into()),
            "请报修人[姓名]电话[手机号]"
        );
    }

    #[test]
    fn overlapping_ranges_mask_once() {
        assert_eq!(replaced("abcdef", vec![1..3, 2..4], NAME_MASK), "a[姓名]ef");
        assert_eq!(
            replaced("abcdef", vec![3..5, 0..1], NAME_MASK),
            "[姓名]bc[姓名]f"
        );
    }
}
