//! A small, bounded XML reader: quick-xml events into a tree of the elements of one namespace.
//!
//! Hostile input is the design case, since the payload comes off a broker:
//! - No DTD: a document mentioning `<!DOCTYPE` or `<!ENTITY` is refused by a byte scan before
//!   parsing, so a billion-laughs document costs one pass and no allocation; quick-xml would not
//!   expand entities anyway, and a `DocType` event that slipped through is refused too.
//! - Only the five predefined entities and character references are resolved; any other `&name;`
//!   is an error rather than silently dropped text.
//! - Depth, element count and text length are capped, so memory stays proportional to the part
//!   of the document read before the first limit trips, whatever the size limit of the caller.
//! - Elements in other namespaces (the XML signature IPAWS and NTWC append) are skipped whole,
//!   still counted against the limits.
//!   The reader borrows from the input, so skipped text and comments are never copied.

use super::DecodeError;
use quick_xml::events::Event as X;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

pub(crate) const MAX_DEPTH: usize = 32;
pub(crate) const MAX_ELEMENTS: usize = 20_000;
/// Per element (and per comment or other markup). ECCC polygons run to tens of kilobytes.
pub(crate) const MAX_TEXT: usize = 256 * 1024;

#[derive(Debug, Default)]
pub(crate) struct Element {
    pub name: String,
    pub text: String,
    pub children: Vec<Element>,
    /// Local names of child elements skipped for their namespace (the first few), so that a
    /// missing element can be told apart from one whose prefix is not bound to the namespace.
    pub foreign: Vec<String>,
}

/// How many skipped children's names an element remembers.
const MAX_FOREIGN: usize = 16;

impl Element {
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    pub fn children<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// Why the child `name` is missing: "is required", and if a child of that local name was
    /// skipped for its namespace, that (`<cap:alert>` whose `<sender>` has no CAP prefix).
    pub fn required(&self, name: &str) -> String {
        if self.foreign.iter().any(|f| f == name) {
            format!(
                "is required (a <{}> here is outside the document's namespace, so it is not \
                 this one: is its prefix bound to the same namespace as the root's?)",
                bounded(name)
            )
        } else {
            "is required".into()
        }
    }

    /// Trimmed text of the first child called `name`; `None` when absent or blank.
    pub fn text_of(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.trim()).filter(|t| !t.is_empty())
    }
}

fn err(problem: impl Into<String>) -> DecodeError {
    DecodeError::field("xml", problem)
}

/// Refuses DTDs before any parsing, case-insensitively (quick-xml accepts `<!doctype`).
pub(crate) fn refuse_dtd(text: &str) -> Result<(), DecodeError> {
    let mut at = 0;
    // `str::find` runs at memchr speed even in debug builds, where a byte loop does not.
    while let Some(i) = text[at..].find("<!") {
        let start = at + i;
        at = start + 2;
        let after = &text.as_bytes()[at..];
        for decl in ["DOCTYPE", "ENTITY"] {
            if after
                .get(..decl.len())
                .is_some_and(|w| w.eq_ignore_ascii_case(decl.as_bytes()))
            {
                return Err(err(format!(
                    "<!{decl} at byte {start}: DTDs and entity declarations are refused \
                     (CAP needs none; entity expansion is a denial-of-service risk)"
                )));
            }
        }
    }
    Ok(())
}

/// Parses `text` whose root element must be `root` in one of `namespaces`. Returns the
/// namespace found and the root, holding only descendants in that same namespace.
pub(crate) fn parse<'n>(
    text: &str,
    root: &str,
    namespaces: &[&'n str],
) -> Result<(&'n str, Element), DecodeError> {
    refuse_dtd(text)?;
    let mut r = NsReader::from_str(text);
    r.config_mut().check_end_names = true;
    r.config_mut().expand_empty_elements = false;

    let mut stack: Vec<Element> = Vec::new();
    let mut done: Option<Element> = None;
    let mut root_ns: Option<usize> = None;
    let mut depth = 0usize;
    let mut elements = 0usize;
    // Depth at which a foreign-namespace subtree began; everything below it is dropped.
    let mut skip_from: Option<usize> = None;

    loop {
        let (ns, ev) = match r.read_resolved_event() {
            Ok((ns, ev)) => (which_ns(ns, namespaces)?, ev),
            Err(e) => {
                let at = r.error_position();
                return Err(err(format!(
                    "malformed XML near byte {at}: {}",
                    bounded(&e.to_string())
                )));
            }
        };
        match ev {
            X::Start(ref s) | X::Empty(ref s) => {
                let empty = matches!(ev, X::Empty(_));
                elements += 1;
                if elements > MAX_ELEMENTS {
                    return Err(err(format!("more than {MAX_ELEMENTS} elements")));
                }
                if depth + 1 > MAX_DEPTH {
                    return Err(err(format!("elements nested deeper than {MAX_DEPTH}")));
                }
                let name = String::from_utf8_lossy(s.local_name().into_inner()).into_owned();
                if !empty {
                    depth += 1;
                }
                if skip_from.is_some() {
                    continue;
                }
                if done.is_some() {
                    return Err(err(format!(
                        "element <{}> after the root element",
                        bounded(&name)
                    )));
                }
                let keep = match root_ns {
                    None => {
                        let idx = ns.filter(|_| name == root).ok_or_else(|| {
                            DecodeError::field(
                                root,
                                format!(
                                    "root element is <{}>{}; expected <{root}> in namespace {}",
                                    bounded(&name),
                                    if ns.is_none() {
                                        " outside the expected namespace"
                                    } else {
                                        ""
                                    },
                                    namespaces.join(" or ")
                                ),
                            )
                        })?;
                        root_ns = Some(idx);
                        true
                    }
                    Some(idx) => ns == Some(idx),
                };
                let el = Element {
                    name,
                    ..Element::default()
                };
                if !keep {
                    if let Some(parent) = stack.last_mut().filter(|p| p.foreign.len() < MAX_FOREIGN) {
                        parent.foreign.push(el.name.clone());
                    }
                }
                match (keep, empty) {
                    (true, false) => stack.push(el),
                    (true, true) => attach(&mut stack, &mut done, el),
                    (false, false) => skip_from = Some(depth),
                    (false, true) => {}
                }
            }
            X::End(_) => {
                if let Some(d) = skip_from {
                    if d == depth {
                        skip_from = None;
                    }
                } else if let Some(el) = stack.pop() {
                    attach(&mut stack, &mut done, el);
                }
                depth = depth.saturating_sub(1);
            }
            X::Text(t) => {
                let s = t.decode().map_err(|e| err(format!("text: {e}")))?;
                append(&mut stack, skip_from.is_some(), &s)?;
            }
            X::CData(t) => {
                let s = t.decode().map_err(|e| err(format!("CDATA: {e}")))?;
                append(&mut stack, skip_from.is_some(), &s)?;
            }
            X::GeneralRef(g) => {
                let resolved = match g.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => {
                        let name = g.decode().map_err(|e| err(format!("entity: {e}")))?;
                        match &*name {
                            "lt" => "<".into(),
                            "gt" => ">".into(),
                            "amp" => "&".into(),
                            "apos" => "'".into(),
                            "quot" => "\"".into(),
                            other => {
                                return Err(err(format!(
                                    "entity &{}; is not defined (only the predefined entities are; DTDs are refused)",
                                    bounded(other)
                                )))
                            }
                        }
                    }
                    Err(e) => return Err(err(format!("character reference: {}", bounded(&e.to_string())))),
                };
                append(&mut stack, skip_from.is_some(), &resolved)?;
            }
            X::Comment(t) | X::DocType(t) if t.len() > MAX_TEXT => {
                return Err(err(format!("markup longer than {MAX_TEXT} bytes")));
            }
            X::DocType(_) => return Err(err("DTDs are refused")),
            X::Comment(_) | X::Decl(_) => {}
            X::PI(p) => {
                if p.len() > MAX_TEXT {
                    return Err(err(format!("markup longer than {MAX_TEXT} bytes")));
                }
            }
            X::Eof => break,
        }
    }
    match (done, root_ns) {
        (Some(el), Some(idx)) => Ok((namespaces[idx], el)),
        _ => match stack.last() {
            Some(open) => Err(err(format!("document ends inside <{}>", bounded(&open.name)))),
            None => Err(err("no root element")),
        },
    }
}

/// `Some(index)` of the namespace in `namespaces`, `None` for any other or none.
fn which_ns(ns: ResolveResult<'_>, namespaces: &[&str]) -> Result<Option<usize>, DecodeError> {
    match ns {
        ResolveResult::Bound(n) => Ok(namespaces
            .iter()
            .position(|want| want.as_bytes() == n.into_inner())),
        ResolveResult::Unbound => Ok(None),
        ResolveResult::Unknown(p) => Err(err(format!(
            "namespace prefix {:?} is not declared",
            bounded(&String::from_utf8_lossy(&p))
        ))),
    }
}

fn attach(stack: &mut [Element], done: &mut Option<Element>, el: Element) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(el),
        None => *done = Some(el),
    }
}

fn append(stack: &mut [Element], skipping: bool, s: &str) -> Result<(), DecodeError> {
    if s.len() > MAX_TEXT {
        return Err(err(format!("text longer than {MAX_TEXT} bytes")));
    }
    match stack.last_mut() {
        Some(el) if !skipping => {
            if el.text.len() + s.len() > MAX_TEXT {
                return Err(err(format!(
                    "text of <{}> longer than {MAX_TEXT} bytes",
                    bounded(&el.name)
                )));
            }
            el.text.push_str(s);
            Ok(())
        }
        // Text outside the root is a syntax error in XML; whitespace there is normal.
        None if !skipping && !s.trim().is_empty() => Err(err("text outside the root element")),
        _ => Ok(()),
    }
}

/// Quoted names and parser messages can carry provider bytes; keep them short and printable.
fn bounded(s: &str) -> String {
    super::json_util::short(s)
}
