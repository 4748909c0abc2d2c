//! `<app>.channels.ts`: one `ContextChannel` subclass per channel, with its
//! route and its model (key and relations of every reachable layer).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::sync::Arc;

use super::collect::Model;
use super::print::{
    indent, is_identifier, is_reserved_word, property_name, string_literal, write_doc, Printer,
    HEADER,
};
use super::CodegenError;
use crate::channel::ChannelDescriptor;
use crate::state::ts::TsType;
use crate::state::{Cardinality, Layer};

/// What the generated file imports from `rxd-client`; no declared name may
/// be imported beside them.
pub(super) const CLIENT_NAMES: [&str; 4] = [
    "ActionError",
    "ChannelModel",
    "ChannelOptions",
    "ContextChannel",
];

/// The text of `<app>.channels.ts` for channels sorted by name.
pub(super) fn render(
    app_name: &str,
    channels: &[&ChannelDescriptor],
    model: &Model,
) -> Result<String, CodegenError> {
    let mut printer = Printer::default();
    let mut classes = Vec::new();
    let mut error_types = false;
    let mut uses_list = false;
    for channel in channels {
        let (mut text, list) = class(channel, &mut printer, model)?;
        uses_list |= list;
        for (method, alias, details) in error_aliases(channel) {
            if let Some(first) = model.names.get(&alias) {
                return Err(CodegenError::NameCollision {
                    name: alias,
                    first: first.clone(),
                    second: format!("the error type of a {} action", channel.name),
                });
            }
            let _ = write!(
                text,
                "\n/** What `{}.{method}` rejects with when the server answers an error. */\nexport type {alias} = ActionError<{}>;\n",
                channel.name,
                printer.ty(details, 0)
            );
            error_types = true;
        }
        classes.push(text);
    }
    for name in &printer.refs {
        if CLIENT_NAMES.contains(&&**name) {
            return Err(CodegenError::NameCollision {
                name: name.to_string(),
                first: model.names.get(&**name).cloned().unwrap_or_default(),
                second: "rxd-client".to_owned(),
            });
        }
    }
    let mut out = String::from(HEADER);
    if !channels.is_empty() {
        let action_error = if error_types {
            "type ActionError, "
        } else {
            ""
        };
        let list = if uses_list { ", type WritableList" } else { "" };
        let _ = writeln!(
            out,
            "\nimport {{ ContextChannel, {action_error}type ChannelModel, type ChannelOptions{list} }} from \"rxd-client\";"
        );
    }
    if !printer.refs.is_empty() {
        let names: Vec<&str> = printer.refs.iter().map(|n| &**n).collect();
        let _ = writeln!(
            out,
            "import type {{ {} }} from {};",
            names.join(", "),
            string_literal(&format!("./{app_name}.interfaces"))
        );
    }
    if channels.is_empty() {
        // Keep the file a module.
        out.push_str("\nexport {};\n");
    }
    for class in classes {
        out.push('\n');
        out.push_str(&class);
    }
    Ok(out)
}

/// One piece of a route template.
#[derive(Debug, PartialEq, Eq)]
enum Segment {
    /// Literal text, braces unescaped.
    Literal(String),
    /// `{name}`, or `{*name}` (a wildcard, which may hold slashes).
    Param { name: String, wildcard: bool },
}

/// Splits an axum route (`/ws/boards/{board_id}`, `{*rest}`, `{{` and `}}`
/// for literal braces) into literal text and parameters.
fn parse_route(route: &str) -> Result<Vec<Segment>, String> {
    let mut segments = Vec::new();
    let mut literal = String::new();
    let mut chars = route.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                literal.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                literal.push('}');
            }
            '{' => {
                let mut name = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some('{') | None => return Err("unclosed `{`".to_owned()),
                        Some(c) => name.push(c),
                    }
                }
                let (name, wildcard) = match name.strip_prefix('*') {
                    Some(rest) => (rest.to_owned(), true),
                    None => (name, false),
                };
                if name.is_empty() {
                    return Err("empty parameter `{}`".to_owned());
                }
                if !literal.is_empty() {
                    segments.push(Segment::Literal(std::mem::take(&mut literal)));
                }
                segments.push(Segment::Param { name, wildcard });
            }
            '}' => return Err("unmatched `}`".to_owned()),
            c => literal.push(c),
        }
    }
    if !literal.is_empty() {
        segments.push(Segment::Literal(literal));
    }
    Ok(segments)
}

/// A route parameter name as a TypeScript parameter name.
///
/// The rule: `snake_case` becomes `camelCase` (`board_id` → `boardId`: an
/// underscore or any character that cannot appear in an identifier is
/// dropped and the next letter upper-cased; the first letter is
/// lower-cased); a leading digit gets a `_` prefix. A name that is then a
/// reserved word, one of the constructor's own names (`token`, `options`),
/// a global the constructor calls (`encodeURIComponent`, `String`), the
/// class itself, or an earlier parameter's name gets the suffix `Param`
/// (`token` → `tokenParam`), then `Param2`, `Param3`, ... until it is free.
pub(super) fn ts_param_names(class: &str, params: &[&str]) -> Vec<String> {
    camel_names(
        &["token", "options", "encodeURIComponent", "String", class],
        params,
    )
}

/// `snake_case` names as distinct `camelCase` identifiers, none of them in
/// `taken` or a reserved word (see [`ts_param_names`] for the rule).
fn camel_names(taken: &[&str], params: &[&str]) -> Vec<String> {
    let mut taken: BTreeSet<String> = taken.iter().map(|t| (*t).to_owned()).collect();
    let mut out = Vec::new();
    for name in params {
        let mut base = String::new();
        let mut upper = false;
        for c in name.chars() {
            if c.is_ascii_alphanumeric() || c == '$' {
                if upper && !base.is_empty() {
                    base.push(c.to_ascii_uppercase());
                } else if base.is_empty() {
                    base.push(c.to_ascii_lowercase());
                } else {
                    base.push(c);
                }
                upper = false;
            } else {
                upper = true;
            }
        }
        if base.is_empty() {
            base.push_str("param");
        } else if base.starts_with(|c: char| c.is_ascii_digit()) {
            base.insert(0, '_');
        }
        debug_assert!(is_identifier(&base));
        let mut candidate = base.clone();
        let mut n = 1;
        while is_reserved_word(&candidate) || taken.contains(&candidate) {
            candidate = if n == 1 {
                format!("{base}Param")
            } else {
                format!("{base}Param{n}")
            };
            n += 1;
        }
        taken.insert(candidate.clone());
        out.push(candidate);
    }
    out
}

/// Escapes literal route text for a template literal.
fn template_text(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('`', "\\`")
        .replace("${", "\\${")
}

/// A channel's route, checked against its parameters, for the generators
/// that fill it in.
pub(super) struct Route {
    /// Literal text and parameters, in route order.
    pub(super) pieces: Vec<RoutePiece>,
    /// The parameters' names (without a wildcard's `*`), in the
    /// descriptor's order.
    pub(super) param_names: Vec<&'static str>,
}

/// One piece of a checked route.
pub(super) enum RoutePiece {
    /// Literal text, braces unescaped.
    Literal(String),
    /// The parameter at `index` of [`Route::param_names`]; a wildcard may
    /// hold slashes.
    Param { index: usize, wildcard: bool },
}

/// Parses a channel's route and checks it against its parameters: each
/// parameter appears in the route, once, and each route parameter has one.
pub(super) fn checked_route(channel: &ChannelDescriptor) -> Result<Route, CodegenError> {
    let route_error = |message: String| CodegenError::Route {
        channel: channel.name.to_owned(),
        route: channel.route.to_owned(),
        message,
    };
    let segments = parse_route(channel.route).map_err(route_error)?;
    let param_names: Vec<&'static str> = channel
        .params
        .iter()
        .map(|p| p.name.trim_start_matches('*'))
        .collect();
    for (i, name) in param_names.iter().enumerate() {
        if param_names[..i].contains(name) {
            return Err(route_error(format!("parameter `{name}` is listed twice")));
        }
        let in_route = segments
            .iter()
            .any(|s| matches!(s, Segment::Param { name: n, .. } if n == name));
        if !in_route {
            return Err(route_error(format!(
                "parameter `{name}` is not in the route"
            )));
        }
    }
    let pieces = segments
        .into_iter()
        .map(|segment| match segment {
            Segment::Literal(text) => Ok(RoutePiece::Literal(text)),
            Segment::Param { name, wildcard } => param_names
                .iter()
                .position(|p| *p == name)
                .map(|index| RoutePiece::Param { index, wildcard })
                .ok_or_else(|| route_error(format!("route parameter `{name}` has no type"))),
        })
        .collect::<Result<_, _>>()?;
    Ok(Route {
        pieces,
        param_names,
    })
}

/// The `export class ...` block of one channel.
fn class(
    channel: &ChannelDescriptor,
    printer: &mut Printer,
    model: &Model,
) -> Result<(String, bool), CodegenError> {
    let route = checked_route(channel)?;
    let ts_names = ts_param_names(channel.name, &route.param_names);

    // The path: a template literal filling every parameter in, encoded.
    let mut path = String::from("`");
    for piece in &route.pieces {
        match piece {
            RoutePiece::Literal(text) => path.push_str(&template_text(text)),
            RoutePiece::Param { index, wildcard } => {
                let ts = &ts_names[*index];
                if *wildcard {
                    // A wildcard may span segments: keep its slashes.
                    let _ = write!(
                        path,
                        "${{String({ts}).split(\"/\").map(encodeURIComponent).join(\"/\")}}"
                    );
                } else {
                    let _ = write!(path, "${{encodeURIComponent(String({ts}))}}");
                }
            }
        }
    }
    path.push('`');

    let anchor = (channel.state)();
    let writes = super::writes::render(channel, &reachable(anchor), printer, model)?;
    let mut out = writes.decls.trim_start().to_owned();
    if !out.is_empty() {
        out.push('\n');
    }
    write_doc(&mut out, channel.doc.as_deref(), 0);
    printer.refs.insert(anchor.type_name.clone());
    let runtime = channel
        .runtime
        .as_ref()
        .map(|ty| format!(", {}", printer.ty(ty, 1)))
        .unwrap_or_default();
    // A list channel's state is the array of its anchors.
    let list = if channel.list { "[]" } else { "" };
    let _ = writeln!(
        out,
        "export class {} extends ContextChannel<{}{list}{runtime}> {{",
        channel.name, writes.state
    );
    let _ = writeln!(
        out,
        "{}static readonly route = {};",
        indent(1),
        string_literal(channel.route)
    );
    let _ = writeln!(out, "{}static readonly model: ChannelModel = {{", indent(1));
    let _ = writeln!(
        out,
        "{}anchor: {},",
        indent(2),
        string_literal(&anchor.type_name)
    );
    if channel.list {
        let _ = writeln!(out, "{}list: true,", indent(2));
    }
    let _ = writeln!(out, "{}types: {{", indent(2));
    for layer in reachable(anchor).values() {
        let relations: Vec<String> = layer
            .relations()
            .map(|(name, relation)| {
                let cardinality = match relation.cardinality {
                    Cardinality::Many => "many",
                    Cardinality::One => "one",
                    Cardinality::Optional => "optional",
                };
                format!(
                    "{}: {{ type: {}, cardinality: \"{cardinality}\" }}",
                    property_name(name),
                    string_literal(&(relation.target)().type_name)
                )
            })
            .collect();
        let relations = if relations.is_empty() {
            "{}".to_owned()
        } else {
            format!("{{ {} }}", relations.join(", "))
        };
        let _ = writeln!(
            out,
            "{}{}: {{ key: {}, relations: {relations} }},",
            indent(3),
            property_name(&layer.type_name),
            string_literal(&layer.key_field)
        );
    }
    let _ = writeln!(out, "{}}},", indent(2));
    out.push_str(&writes.model);
    let _ = writeln!(out, "{}}};", indent(1));
    out.push('\n');
    let mut args: Vec<String> = channel
        .params
        .iter()
        .zip(&ts_names)
        .map(|(param, ts)| format!("{ts}: {}", printer.ty(&param.ty, 1)))
        .collect();
    args.push("token: string".to_owned());
    args.push("options?: ChannelOptions".to_owned());
    let _ = writeln!(out, "{}constructor({}) {{", indent(1), args.join(", "));
    let _ = writeln!(
        out,
        "{}super({path}, token, {}.model, options);",
        indent(2),
        channel.name
    );
    let _ = writeln!(out, "{}}}", indent(1));
    write_actions(&mut out, channel, printer)?;
    out.push_str("}\n");
    Ok((out, writes.uses_list))
}

/// Members of `ContextChannel` (and of every class) that an action method
/// must not shadow.
const CHANNEL_MEMBERS: [&str; 11] = [
    "call",
    "close",
    "constructor",
    "getInstance",
    "getSnapshot",
    "model",
    "path",
    "route",
    "subscribe",
    "toString",
    "valueOf",
];

/// One method per action: `rename(title: string): Promise<Board>`.
fn write_actions(
    out: &mut String,
    channel: &ChannelDescriptor,
    printer: &mut Printer,
) -> Result<(), CodegenError> {
    let names: Vec<&str> = channel.actions.iter().map(|a| a.name).collect();
    let methods = camel_names(&[], &names);
    for (action, method) in channel.actions.iter().zip(&methods) {
        let error = |message: String| CodegenError::Action {
            channel: channel.name.to_owned(),
            action: action.name.to_owned(),
            message,
        };
        // camel_names renames clashes; an action must keep its plain name.
        let plain = camel_names(&[], &[action.name]);
        if plain.first() != Some(method) {
            return Err(error(format!(
                "its method name `{}` is taken by another action",
                plain.first().map_or("", String::as_str)
            )));
        }
        if CHANNEL_MEMBERS.contains(&method.as_str()) {
            return Err(error(format!(
                "`{method}` is a member of ContextChannel; rename the action with #[action(name = \"...\")]"
            )));
        }
        let param_names: Vec<&str> = action.params.iter().map(|p| p.name).collect();
        let ts_names = camel_names(&[], &param_names);
        let required = required_params(action);
        let params: Vec<String> = action
            .params
            .iter()
            .zip(&ts_names)
            .enumerate()
            .map(|(i, (param, name))| {
                let optional = if i < required { "" } else { "?" };
                format!("{name}{optional}: {}", printer.ty(&param.ty, 1))
            })
            .collect();
        out.push('\n');
        let doc = match &action.details {
            Some(_) => {
                let alias = error_alias(channel.name, method);
                let throws = format!("@throws {{{alias}}} when the server answers an error");
                Some(match action.doc.as_deref() {
                    Some(doc) => format!("{doc}\n\n{throws}"),
                    None => throws,
                })
            }
            None => action.doc.clone(),
        };
        write_doc(out, doc.as_deref(), 1);
        let _ = writeln!(
            out,
            "{}{method}({}): Promise<{}> {{",
            indent(1),
            params.join(", "),
            printer.ty(&action.returns, 1)
        );
        let _ = writeln!(
            out,
            "{}return this.call({}, [{}]);",
            indent(2),
            string_literal(action.name),
            ts_names.join(", ")
        );
        let _ = writeln!(out, "{}}}", indent(1));
    }
    Ok(())
}

/// `(method, alias, details type)` for each action that declares its
/// errors' details: `BoardChannelRenameCardError` for `rename_card` of
/// `BoardChannel`.
fn error_aliases(channel: &ChannelDescriptor) -> Vec<(String, String, &TsType)> {
    let names: Vec<&str> = channel.actions.iter().map(|a| a.name).collect();
    camel_names(&[], &names)
        .into_iter()
        .zip(&channel.actions)
        .filter_map(|(method, action)| {
            let details = action.details.as_ref()?;
            let alias = error_alias(channel.name, &method);
            Some((method, alias, details))
        })
        .collect()
}

/// The error type alias of an action: channel name, method name with a
/// capital, `Error`.
fn error_alias(channel: &str, method: &str) -> String {
    let mut alias = String::from(channel);
    let mut chars = method.chars();
    alias.extend(chars.next().map(|c| c.to_ascii_uppercase()));
    alias.extend(chars);
    alias.push_str("Error");
    alias
}

/// Whether JSON `null` is a value of this type (`Option<T>`, `()`).
pub(super) fn accepts_null(ty: &TsType) -> bool {
    match ty {
        TsType::Null | TsType::JsonValue | TsType::Unknown => true,
        TsType::Union(items) => items.iter().any(accepts_null),
        _ => false,
    }
}

/// How many leading parameters of an action a call must pass: trailing
/// parameters that accept null may be left out.
pub(super) fn required_params(action: &crate::channel::ActionDescriptor) -> usize {
    action
        .params
        .iter()
        .rposition(|p| !accepts_null(&p.ty))
        .map_or(0, |i| i + 1)
}

/// The anchor and every layer its relations reach, by type name.
pub(super) fn reachable(anchor: &'static Layer) -> BTreeMap<Arc<str>, &'static Layer> {
    let mut found = BTreeMap::new();
    let mut stack = vec![anchor];
    while let Some(layer) = stack.pop() {
        if found.insert(layer.type_name.clone(), layer).is_none() {
            stack.extend(layer.relations().map(|(_, r)| (r.target)()));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codegen_route_parsing() {
        assert_eq!(
            parse_route("/a/{x}/b{{c}}/{*rest}").unwrap(),
            vec![
                Segment::Literal("/a/".into()),
                Segment::Param {
                    name: "x".into(),
                    wildcard: false
                },
                Segment::Literal("/b{c}/".into()),
                Segment::Param {
                    name: "rest".into(),
                    wildcard: true
                },
            ]
        );
        assert!(parse_route("/a/{x").is_err());
        assert!(parse_route("/a/}").is_err());
        assert!(parse_route("/a/{}").is_err());
        assert_eq!(template_text("/a`${b}\\"), "/a\\`\\${b}\\\\");
    }

    #[test]
    fn codegen_param_names() {
        assert_eq!(
            ts_param_names(
                "BoardChannel",
                &[
                    "board_id",
                    "token",
                    "options",
                    "class",
                    "9lives",
                    "tokenParam"
                ]
            ),
            vec![
                "boardId",
                "tokenParam",
                "optionsParam",
                "classParam",
                "_9lives",
                "tokenParamParam"
            ]
        );
        assert_eq!(
            ts_param_names("C", &["a_b", "aB", "A_b"]),
            vec!["aB", "aBParam", "aBParam2"]
        );
        assert_eq!(
            ts_param_names("C", &["String", "c", "__x"]),
            vec!["string", "c", "x"]
        );
        assert_eq!(ts_param_names("c", &["c"]), vec!["cParam"]);
    }
}
