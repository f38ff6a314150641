//! What the menu checker asks of a message without rendering it: which
//! variables it reads, how long it can get, which characters it contains.
//!
//! Each walk follows references to other messages and terms (a reference cycle
//! stops at [`MAX_DEPTH`]) and every variant of a select expression.

use std::collections::BTreeSet;

use fluent_syntax::ast::{Expression, InlineExpression, Pattern, PatternElement};

use super::gsm7::{gsm7_len, is_gsm7_basic};
use super::locales::LangBundle;
use super::{Lang, Locales};

/// How deep message and term references are followed.
const MAX_DEPTH: usize = 8;

impl Locales {
    /// The variables message `id` reads in `lang`, including those inside
    /// select expressions and referenced messages; `None` if it is missing.
    pub fn variables(&self, lang: Lang, id: &str) -> Option<BTreeSet<String>> {
        let lb = self.lang(lang);
        let mut vars = BTreeSet::new();
        collect_vars(lb, lb.message(id)?, 0, &mut vars);
        Some(vars)
    }

    /// The longest rendering of message `id` in `lang`, in GSM-7 septets, when
    /// each variable takes `var_len(name)` septets and every select takes its
    /// longest variant; `None` if the message is missing.
    pub fn max_len(&self, lang: Lang, id: &str, var_len: &dyn Fn(&str) -> usize) -> Option<usize> {
        let lb = self.lang(lang);
        Some(pattern_len(lb, lb.message(id)?, var_len, 0))
    }

    /// The characters of message `id` in `lang` (its own text and the text of
    /// what it references) that are outside the basic GSM-7 set.
    pub fn foreign_chars(&self, lang: Lang, id: &str) -> Option<BTreeSet<char>> {
        let lb = self.lang(lang);
        let mut chars = BTreeSet::new();
        collect_foreign(lb, lb.message(id)?, 0, &mut chars);
        Some(chars)
    }
}

/// The inline expressions directly inside `expression`, with the patterns of
/// its select variants.
fn parts<'p, 's>(
    expression: &'p Expression<&'s str>,
) -> (&'p InlineExpression<&'s str>, Vec<&'p Pattern<&'s str>>) {
    match expression {
        Expression::Select { selector, variants } => {
            (selector, variants.iter().map(|v| &v.value).collect())
        }
        Expression::Inline(inline) => (inline, Vec::new()),
    }
}

fn referenced<'b>(
    lb: &'b LangBundle,
    inline: &InlineExpression<&str>,
) -> Option<&'b Pattern<&'b str>> {
    match inline {
        InlineExpression::MessageReference { id, attribute } => {
            lb.referenced(id.name, attribute.as_ref().map(|a| a.name), false)
        }
        InlineExpression::TermReference { id, attribute, .. } => {
            lb.referenced(id.name, attribute.as_ref().map(|a| a.name), true)
        }
        _ => None,
    }
}

fn collect_vars(
    lb: &LangBundle,
    pattern: &Pattern<&str>,
    depth: usize,
    vars: &mut BTreeSet<String>,
) {
    for element in &pattern.elements {
        if let PatternElement::Placeable { expression } = element {
            collect_expression_vars(lb, expression, depth, vars);
        }
    }
}

fn collect_expression_vars(
    lb: &LangBundle,
    expression: &Expression<&str>,
    depth: usize,
    vars: &mut BTreeSet<String>,
) {
    let (inline, variants) = parts(expression);
    collect_inline_vars(lb, inline, depth, vars);
    for variant in variants {
        collect_vars(lb, variant, depth, vars);
    }
}

fn collect_inline_vars(
    lb: &LangBundle,
    inline: &InlineExpression<&str>,
    depth: usize,
    vars: &mut BTreeSet<String>,
) {
    match inline {
        InlineExpression::VariableReference { id } => {
            vars.insert(id.name.to_owned());
        }
        InlineExpression::FunctionReference { arguments, .. } => {
            let named = arguments.named.iter().map(|n| &n.value);
            for arg in arguments.positional.iter().chain(named) {
                collect_inline_vars(lb, arg, depth, vars);
            }
        }
        InlineExpression::Placeable { expression } => {
            collect_expression_vars(lb, expression, depth, vars);
        }
        // A term has its own scope (its arguments), so only messages pass the
        // caller's variables on.
        InlineExpression::MessageReference { .. } if depth < MAX_DEPTH => {
            if let Some(pattern) = referenced(lb, inline) {
                collect_vars(lb, pattern, depth + 1, vars);
            }
        }
        _ => {}
    }
}

fn pattern_len(
    lb: &LangBundle,
    pattern: &Pattern<&str>,
    var_len: &dyn Fn(&str) -> usize,
    depth: usize,
) -> usize {
    pattern
        .elements
        .iter()
        .map(|element| match element {
            PatternElement::TextElement { value } => gsm7_len(value),
            PatternElement::Placeable { expression } => {
                expression_len(lb, expression, var_len, depth)
            }
        })
        .sum()
}

fn expression_len(
    lb: &LangBundle,
    expression: &Expression<&str>,
    var_len: &dyn Fn(&str) -> usize,
    depth: usize,
) -> usize {
    match expression {
        Expression::Select { variants, .. } => variants
            .iter()
            .map(|v| pattern_len(lb, &v.value, var_len, depth))
            .max()
            .unwrap_or(0),
        Expression::Inline(inline) => inline_len(lb, inline, var_len, depth),
    }
}

fn inline_len(
    lb: &LangBundle,
    inline: &InlineExpression<&str>,
    var_len: &dyn Fn(&str) -> usize,
    depth: usize,
) -> usize {
    match inline {
        // The escaped source is never shorter than the text it stands for.
        InlineExpression::StringLiteral { value } | InlineExpression::NumberLiteral { value } => {
            gsm7_len(value)
        }
        InlineExpression::VariableReference { id } => var_len(id.name),
        // Functions format one of their arguments (NUMBER($x) and the like).
        InlineExpression::FunctionReference { arguments, .. } => arguments
            .positional
            .iter()
            .map(|arg| inline_len(lb, arg, var_len, depth))
            .max()
            .unwrap_or(0),
        InlineExpression::Placeable { expression } => {
            expression_len(lb, expression, var_len, depth)
        }
        InlineExpression::MessageReference { id, .. }
        | InlineExpression::TermReference { id, .. } => {
            match referenced(lb, inline) {
                Some(pattern) if depth < MAX_DEPTH => pattern_len(lb, pattern, var_len, depth + 1),
                // Fluent renders an unresolvable reference as `{id}`.
                _ => gsm7_len(id.name) + 2,
            }
        }
    }
}

fn collect_foreign(
    lb: &LangBundle,
    pattern: &Pattern<&str>,
    depth: usize,
    chars: &mut BTreeSet<char>,
) {
    for element in &pattern.elements {
        match element {
            PatternElement::TextElement { value } => {
                chars.extend(value.chars().filter(|c| !is_gsm7_basic(*c)));
            }
            PatternElement::Placeable { expression } => {
                collect_expression_foreign(lb, expression, depth, chars);
            }
        }
    }
}

fn collect_expression_foreign(
    lb: &LangBundle,
    expression: &Expression<&str>,
    depth: usize,
    chars: &mut BTreeSet<char>,
) {
    let (inline, variants) = parts(expression);
    match inline {
        InlineExpression::StringLiteral { value } => {
            chars.extend(value.chars().filter(|c| !is_gsm7_basic(*c)));
        }
        InlineExpression::Placeable { expression } => {
            collect_expression_foreign(lb, expression, depth, chars);
        }
        InlineExpression::MessageReference { .. } | InlineExpression::TermReference { .. }
            if depth < MAX_DEPTH =>
        {
            if let Some(pattern) = referenced(lb, inline) {
                collect_foreign(lb, pattern, depth + 1, chars);
            }
        }
        _ => {}
    }
    for variant in variants {
        collect_foreign(lb, variant, depth, chars);
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::i18n::Vars;

    fn fixture_locales() -> Locales {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/menus-locales-introspect");
        Locales::load(&dir).expect("fixture locales load")
    }

    #[test]
    fn variables_are_found_in_selects_functions_and_referenced_messages() {
        let locales = fixture_locales();
        let vars = locales.variables(Lang::En, "summary").unwrap();
        let names: Vec<_> = vars.iter().map(String::as_str).collect();
        assert_eq!(names, ["amount", "count", "name", "when"]);
        assert_eq!(locales.variables(Lang::En, "missing"), None);
    }

    #[test]
    fn worst_case_length_takes_the_longest_variant_and_declared_variable_lengths() {
        let locales = fixture_locales();
        // "Hi " + name(10) + ", " + longest variant "many items" + "." + ...
        let len = locales.max_len(Lang::En, "greeting", &|_| 10).unwrap();
        assert_eq!(len, "Hi , many items: .".len() + 10 + 10);
    }

    #[test]
    fn formatting_leaves_no_isolation_marks_and_survives_missing_pieces() {
        let locales = fixture_locales();
        let vars = Vars::from([
            ("name".to_owned(), "Wanjiru".to_owned()),
            ("count".to_owned(), "one".to_owned()),
        ]);
        let text = locales.format(
            Lang::En,
            "greeting",
            &Vars::from([("name".into(), "Wanjiru".into())]),
        );
        assert!(text.starts_with("Hi Wanjiru, "), "{text:?}");
        assert!(crate::i18n::is_gsm7(&locales.format(
            Lang::En,
            "greeting",
            &vars
        )));
        assert_eq!(
            locales.format(Lang::Sw, "no-such-message", &vars),
            "no-such-message"
        );
    }

    #[test]
    fn characters_outside_gsm7_are_reported_per_message() {
        let locales = fixture_locales();
        let chars = locales.foreign_chars(Lang::Sw, "greeting").unwrap();
        assert_eq!(chars.into_iter().collect::<String>(), "\u{2019}");
    }

    #[test]
    fn every_parse_error_is_reported_with_file_and_line() {
        let dir =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/menus-locales-broken");
        let errors = Locales::load(&dir).unwrap_err();
        let text = errors.to_string();
        assert!(text.contains("en/ussd.ftl:3:"), "{text}");
        assert!(text.contains("en/ussd.ftl:6:"), "{text}");
        assert_eq!(errors.0.len(), 4, "{text}");
        assert!(text.contains("`dup` is already defined"), "{text}");
        assert!(
            text.contains("sw: cannot read") || text.contains("sw: no .ftl"),
            "{text}"
        );
    }
}
