//! Declarative alert rules: conditions over named features, a severity and a Chinese
//! explanation template, loaded from TOML and validated against the features that exist.
//!
//! ```toml
//! [[rule]]
//! id = "repeat_callers"
//! name = "重复来电"
//! severity = "high"                 # low | medium | high
//! when = [{ feature = "repeat_top30", op = ">=", value = 3 }]
//! reason = "30天内{repeat_top30}户居民就同一问题重复反映"
//! ```
//!
//! All conditions of `when` must hold. A template names features as `{feature}` (a count,
//! printed without decimals when whole), `{feature:%}` (a share, printed as a percentage) or
//! `{feature:.1}` (one decimal), and text values given by the caller, such as `{top_category}`.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::fusion::FusionParams;
use crate::{Error, Result};

/// How serious a fired rule is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth a look.
    Low,
    /// Should be followed up.
    Medium,
    /// Act now.
    High,
}

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// ≥
    #[serde(rename = ">=")]
    Ge,
    /// >
    #[serde(rename = ">")]
    Gt,
    /// ≤
    #[serde(rename = "<=")]
    Le,
    /// <
    #[serde(rename = "<")]
    Lt,
    /// =
    #[serde(rename = "==")]
    Eq,
}

/// One condition: `feature op value`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// Feature name.
    pub feature: String,
    /// Comparison.
    pub op: Op,
    /// Threshold.
    pub value: f64,
}

impl Condition {
    fn holds(&self, v: f64) -> bool {
        match self.op {
            Op::Ge => v >= self.value,
            Op::Gt => v > self.value,
            Op::Le => v <= self.value,
            Op::Lt => v < self.value,
            Op::Eq => v == self.value,
        }
    }
}

/// A validated rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Stable id (ASCII), shown in the alert table.
    pub id: String,
    /// Short Chinese name.
    pub name: String,
    /// Severity.
    pub severity: Severity,
    /// Conditions, all of which must hold.
    pub when: Vec<Condition>,
    /// Explanation template.
    pub reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    fusion: FusionParams,
    #[serde(default)]
    rule: Vec<Spanned<Rule>>,
}

/// A fired rule with its explanation filled in.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fired {
    /// The rule's id.
    pub id: String,
    /// The rule's name.
    pub name: String,
    /// Its severity.
    pub severity: Severity,
    /// The filled-in explanation.
    pub reason: String,
}

/// A validated rule set.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RuleSet {
    /// The rules, in file order.
    pub rules: Vec<Rule>,
    /// The `[fusion]` table: weights and cut-offs.
    pub fusion: FusionParams,
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// Placeholders `{name}` / `{name:fmt}` in a template.
fn placeholders(template: &str) -> Vec<(String, String)> {
    let mut out = vec![];
    let mut rest = template;
    while let Some(a) = rest.find('{') {
        let Some(b) = rest[a..].find('}') else { break };
        let inner = &rest[a + 1..a + b];
        let (name, fmt) = inner.split_once(':').unwrap_or((inner, ""));
        out.push((name.to_string(), fmt.to_string()));
        rest = &rest[a + b + 1..];
    }
    out
}

fn format_value(v: f64, fmt: &str) -> String {
    match fmt {
        "%" => format!("{:.0}%", v * 100.0),
        ".1" => format!("{v:.1}"),
        _ if v.fract() == 0.0 && v.abs() < 1e15 => format!("{v:.0}"),
        _ => format!("{v:.1}"),
    }
}

impl RuleSet {
    /// Parses and validates a rule file. `features` are the names a condition or template may
    /// use, `texts` the text placeholders the caller fills in.
    ///
    /// # Errors
    /// [`Error::Rule`] with the line and reason of the first invalid rule: bad TOML, an unknown
    /// field, feature, operator, severity or placeholder, an empty `when`, a duplicate id.
    pub fn parse(text: &str, features: &[&str], texts: &[&str]) -> Result<RuleSet> {
        let raw: RawFile = toml::from_str(text).map_err(|e| Error::Rule {
            line: e.span().map_or(0, |s| line_of(text, s.start)),
            reason: e.message().to_string(),
        })?;
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut rules = vec![];
        for r in raw.rule {
            let line = line_of(text, r.span().start);
            let rule = r.into_inner();
            let bad = |reason: String| Error::Rule { line, reason };
            if rule.id.is_empty()
                || !rule
                    .id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                return Err(bad(format!(
                    "rule id `{}` must be non-empty ASCII letters, digits or _",
                    rule.id
                )));
            }
            if let Some(first) = seen.insert(rule.id.clone(), line) {
                return Err(bad(format!(
                    "rule id `{}` already used on line {first}",
                    rule.id
                )));
            }
            if rule.when.is_empty() {
                return Err(bad(format!(
                    "rule `{}` has no condition in `when`",
                    rule.id
                )));
            }
            for c in &rule.when {
                if !features.contains(&c.feature.as_str()) {
                    return Err(bad(format!(
                        "rule `{}`: unknown feature `{}` (known: {})",
                        rule.id,
                        c.feature,
                        features.join(", ")
                    )));
                }
                if !c.value.is_finite() {
                    return Err(bad(format!("rule `{}`: threshold must be finite", rule.id)));
                }
            }
            for (name, fmt) in placeholders(&rule.reason) {
                if !features.contains(&name.as_str()) && !texts.contains(&name.as_str()) {
                    return Err(bad(format!(
                        "rule `{}`: the reason uses `{{{name}}}`, which is neither a feature \
                         nor one of {}",
                        rule.id,
                        texts.join(", ")
                    )));
                }
                if !matches!(fmt.as_str(), "" | "%" | ".1") {
                    return Err(bad(format!(
                        "rule `{}`: unknown format `{fmt}` in `{{{name}:{fmt}}}` (use %, .1 or \
                         nothing)",
                        rule.id
                    )));
                }
            }
            rules.push(rule);
        }
        let f = &raw.fusion;
        let fusion_error = |reason: String| Error::Rule {
            line: text.find("[fusion]").map_or(0, |o| line_of(text, o)),
            reason,
        };
        if !(0.0..=100.0).contains(&f.yellow) || !(0.0..=100.0).contains(&f.red) || f.yellow > f.red
        {
            return Err(fusion_error(format!(
                "fusion cut-offs must satisfy 0 <= yellow <= red <= 100, got yellow {} red {}",
                f.yellow, f.red
            )));
        }
        if let Some(p) = f.red_precision.filter(|p| !(*p > 0.0 && *p <= 1.0)) {
            return Err(fusion_error(format!(
                "red_precision is a share of red alerts, in (0, 1] (0.7 for 70 %), got {p}"
            )));
        }
        if !(f.red_precision_z >= 0.0 && f.red_precision_z.is_finite()) {
            return Err(fusion_error(format!(
                "red_precision_z is a number of standard errors, 0 or more, got {}",
                f.red_precision_z
            )));
        }
        Ok(RuleSet {
            rules,
            fusion: raw.fusion,
        })
    }

    /// The rules that fire for one row. `value` gives a feature's value (NaN = missing, which
    /// never satisfies a condition); `text` a text placeholder's value.
    pub fn evaluate(
        &self,
        value: impl Fn(&str) -> f64,
        text: impl Fn(&str) -> Option<String>,
    ) -> Vec<Fired> {
        let mut out = vec![];
        for r in &self.rules {
            if r.when.iter().all(|c| {
                let v = value(&c.feature);
                !v.is_nan() && c.holds(v)
            }) {
                let mut reason = String::new();
                let mut rest = r.reason.as_str();
                while let Some(a) = rest.find('{') {
                    let Some(b) = rest[a..].find('}') else { break };
                    reason.push_str(&rest[..a]);
                    let inner = &rest[a + 1..a + b];
                    let (name, fmt) = inner.split_once(':').unwrap_or((inner, ""));
                    match text(name) {
                        Some(t) => reason.push_str(&t),
                        None => reason.push_str(&format_value(value(name), fmt)),
                    }
                    rest = &rest[a + b + 1..];
                }
                reason.push_str(rest);
                out.push(Fired {
                    id: r.id.clone(),
                    name: r.name.clone(),
                    severity: r.severity,
                    reason,
                });
            }
        }
        out.sort_by_key(|f| std::cmp::Reverse(f.severity));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FEATURES: &[&str] = &["repeat_top30", "dissat56", "rated56"];

    #[test]
    fn fires_and_fills_the_template() {
        let rs = RuleSet::parse(
            r#"
[[rule]]
id = "dissatisfied"
name = "不满意率高"
severity = "medium"
when = [{ feature = "dissat56", op = ">=", value = 0.4 }, { feature = "rated56", op = ">=", value = 5 }]
reason = "{top_category}不满意率{dissat56:%}（{rated56}条评价）"

[[rule]]
id = "repeat"
name = "重复来电"
severity = "high"
when = [{ feature = "repeat_top30", op = ">=", value = 3 }]
reason = "{repeat_top30}户重复反映"
"#,
            FEATURES,
            &["top_category"],
        )
        .unwrap();
        let vals: HashMap<&str, f64> = [
            ("repeat_top30", 3.0),
            ("dissat56", 0.4615),
            ("rated56", 13.0),
        ]
        .into();
        let fired = rs.evaluate(
            |n| vals.get(n).copied().unwrap_or(f64::NAN),
            |n| (n == "top_category").then(|| "物业服务".to_string()),
        );
        assert_eq!(fired.len(), 2);
        assert_eq!(fired[0].id, "repeat", "high severity first");
        assert_eq!(fired[0].reason, "3户重复反映");
        assert_eq!(fired[1].reason, "物业服务不满意率46%（13条评价）");
        // Too few ratings: the AND fails.
        let fired = rs.evaluate(|n| if n == "rated56" { 4.0 } else { vals[n] }, |_| None);
        assert_eq!(fired.len(), 1);
        // Missing values never fire.
        assert!(rs.evaluate(|_| f64::NAN, |_| None).is_empty());
    }

    #[test]
    fn rejects_invalid_rules_with_line_and_reason() {
        let unknown = "\n\n[[rule]]\nid = \"x\"\nname = \"n\"\nseverity = \"high\"\nwhen = [{ feature = \"nope\", op = \">=\", value = 1 }]\nreason = \"r\"\n";
        let e = RuleSet::parse(unknown, FEATURES, &[])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("line 3") && e.contains("unknown feature `nope`"),
            "{e}"
        );
        let bad_op = "[[rule]]\nid = \"x\"\nname = \"n\"\nseverity = \"high\"\nwhen = [{ feature = \"rated56\", op = \"=>\", value = 1 }]\nreason = \"r\"\n";
        let e = RuleSet::parse(bad_op, FEATURES, &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 5") && e.contains("=>"), "{e}");
        let bad_sev = "[[rule]]\nid = \"x\"\nname = \"n\"\nseverity = \"urgent\"\nwhen = []\nreason = \"r\"\n";
        assert!(RuleSet::parse(bad_sev, FEATURES, &[])
            .unwrap_err()
            .to_string()
            .contains("urgent"));
        let empty =
            "[[rule]]\nid = \"x\"\nname = \"n\"\nseverity = \"low\"\nwhen = []\nreason = \"r\"\n";
        assert!(RuleSet::parse(empty, FEATURES, &[])
            .unwrap_err()
            .to_string()
            .contains("no condition"));
        let placeholder = "[[rule]]\nid = \"x\"\nname = \"n\"\nseverity = \"low\"\nwhen = [{ feature = \"rated56\", op = \">\", value = 1 }]\nreason = \"{who}\"\n";
        let e = RuleSet::parse(placeholder, FEATURES, &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 1") && e.contains("{who}"), "{e}");
        let dup = "[[rule]]\nid = \"x\"\nname = \"n\"\nseverity = \"low\"\nwhen = [{ feature = \"rated56\", op = \">\", value = 1 }]\nreason = \"r\"\n[[rule]]\nid = \"x\"\nname = \"n\"\nseverity = \"low\"\nwhen = [{ feature = \"rated56\", op = \">\", value = 1 }]\nreason = \"r\"\n";
        let e = RuleSet::parse(dup, FEATURES, &[]).unwrap_err().to_string();
        assert!(
            e.contains("line 7") && e.contains("already used on line 1"),
            "{e}"
        );
        for (fusion, says) in [
            ("red_precision = 70", "in (0, 1]"),
            ("red_precision = 0.0", "in (0, 1]"),
            ("red_precision_z = -1", "0 or more"),
            ("red_precision_z = nan", "0 or more"),
        ] {
            let text = format!("\n[fusion]\n{fusion}\n");
            let e = RuleSet::parse(&text, FEATURES, &[])
                .unwrap_err()
                .to_string();
            assert!(e.contains("line 2") && e.contains(says), "{fusion}: {e}");
        }
        assert!(RuleSet::parse("[fusion]\nred_precision_z = 0\n", FEATURES, &[]).is_ok());
    }
}
