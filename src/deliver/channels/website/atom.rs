//! `{web_root}/alerts.atom`: an Atom 1.0 feed (RFC 4287) of the recent revisions, newest first.
//! Each entry links to its page (`alternate`, text/html) and to its CAP file (`alternate`,
//! application/cap+xml — the convention CAP aggregators follow), and carries the full text.

use super::data::{class_zh, Snapshot};
use super::{iso, xml_text, Site};
use quick_xml::events::{BytesDecl, BytesText, Event as X};
use quick_xml::Writer;
use std::io;

pub const NS: &str = "http://www.w3.org/2005/Atom";

type W = Writer<Vec<u8>>;

fn el(w: &mut W, name: &str, text: &str) -> io::Result<()> {
    w.create_element(name)
        .write_text_content(BytesText::new(&xml_text(text)))?;
    Ok(())
}

fn link(w: &mut W, rel: &str, kind: &str, href: &str) -> io::Result<()> {
    w.create_element("link")
        .with_attribute(("rel", rel))
        .with_attribute(("type", kind))
        .with_attribute(("href", xml_text(href).as_str()))
        .write_empty()?;
    Ok(())
}

pub fn render(site: &Site, snap: &Snapshot, now: jiff::Timestamp) -> io::Result<Vec<u8>> {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    w.write_event(X::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let feed_url = format!("{}/alerts.atom", site.link_base);
    let updated = snap.recent.first().map(|r| r.created()).unwrap_or(now);
    w.create_element("feed")
        .with_attribute(("xmlns", NS))
        .with_attribute(("xml:lang", "zh-CN"))
        .write_inner_content(|w| {
            el(w, "id", &feed_url)?;
            el(w, "title", &format!("{}预警信息", site.office))?;
            el(w, "updated", &iso(updated))?;
            w.create_element("author").write_inner_content(|w| {
                el(w, "name", &site.office)?;
                el(w, "uri", &format!("{}/index.html", site.link_base))
            })?;
            link(w, "self", "application/atom+xml", &feed_url)?;
            link(
                w,
                "alternate",
                "text/html",
                &format!("{}/index.html", site.link_base),
            )?;
            el(w, "generator", "alertd")?;
            for r in &snap.recent {
                let chain: &[_] = if r.event_key == snap.current.event_key {
                    &snap.chain
                } else {
                    &[]
                };
                let page = site.page_url(r.id);
                w.create_element("entry").write_inner_content(|w| {
                    el(w, "id", &page)?;
                    el(
                        w,
                        "title",
                        &format!("【{}】{}", r.action_zh(chain), r.headline(chain)),
                    )?;
                    el(w, "updated", &iso(r.created()))?;
                    el(w, "published", &iso(r.created()))?;
                    link(w, "alternate", "text/html", &page)?;
                    link(
                        w,
                        "alternate",
                        "application/cap+xml",
                        &format!("{}/alerts/{}.cap.xml", site.link_base, r.id),
                    )?;
                    w.create_element("category")
                        .with_attribute(("term", r.class.as_str()))
                        .with_attribute(("label", class_zh(&r.class)))
                        .write_empty()?;
                    let text = if r.text.trim().is_empty() {
                        r.summary(chain)
                    } else {
                        r.text.clone()
                    };
                    w.create_element("summary")
                        .with_attribute(("type", "text"))
                        .write_text_content(BytesText::new(&xml_text(&text)))?;
                    Ok(())
                })?;
            }
            Ok(())
        })?;
    let mut out = w.into_inner();
    out.push(b'\n');
    Ok(out)
}
