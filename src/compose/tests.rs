use super::*;
use crate::assess::assess;
use crate::config::Config;
use crate::feed::decode;

const LUSHAN: &str = include_str!("../../alerts/samples/lushan-2013.json");
const LINK: &str = "https://www.example.gov.cn/alerts";

fn compose(sample: &str, channel: ChannelKind, link: Option<&str>) -> Result<String, ComposeError> {
    let cfg = Config::quickstart();
    let ev = decode(sample.as_bytes(), 1 << 20).unwrap();
    let a = assess(&cfg, &ev, None, ev.sent);
    let kind = if ev.quake().is_some() { "quake" } else { "weather" };
    let ctx = context::build(&cfg, &ev, &a, link);
    Composer::builtin().compose(kind, channel, &ctx, 140, link)
}

#[test]
fn lushan_wechat_text_has_the_facts() {
    let t = compose(LUSHAN, ChannelKind::Wechat, None).unwrap();
    assert!(
        t.starts_with("【地震速报】中国地震台网中心正式测定：北京时间4月20日8时2分在四川省雅安市芦山县"),
        "{t}"
    );
    for fact in [
        "7.0级地震",
        "震源深度13千米",
        "成都市约",
        "北纬30.30度",
        "东经103.00度",
        "成都市应急管理局",
        "余震",
    ] {
        assert!(t.contains(fact), "missing {fact}: {t}");
    }
}

#[test]
fn lushan_weibo_fits_140_with_link_and_keeps_facts() {
    let t = compose(LUSHAN, ChannelKind::Weibo, Some(LINK)).unwrap();
    assert!(fit::char_count(&t) <= 140, "{} chars: {t}", fit::char_count(&t));
    assert!(t.contains(LINK));
    for fact in [
        "4月20日8时2分",
        "四川省雅安市芦山县",
        "7.0级",
        "13千米",
        "成都市约1",
    ] {
        assert!(t.contains(fact), "missing {fact}: {t}");
    }
    assert!(!t.contains('#'));
}

#[test]
fn a_long_place_shortens_prose_first_and_keeps_the_whole_place() {
    let long = LUSHAN.replace("四川省雅安市芦山县", &"很长的地名".repeat(10));
    let t = compose(&long, ChannelKind::Weibo, Some(LINK)).unwrap();
    assert!(t.contains(&"很长的地名".repeat(10)), "{t}");
    assert!(!t.contains('…'), "{t}");
    assert!(fit::char_count(&t) <= 140);
}

/// An emergency is never left unposted for length: the facts stay whole and the place is cut,
/// with an ellipsis, just enough to fit.
#[test]
fn an_emergency_with_a_huge_place_is_posted_within_the_limit_with_the_facts_whole() {
    let place = "四川省雅安市芦山县龙门乡".repeat(40); // 480 characters
    let long = LUSHAN.replace("四川省雅安市芦山县", &place);
    let cfg = Config::quickstart();
    let ev = decode(long.as_bytes(), 1 << 20).unwrap();
    let a = assess(&cfg, &ev, None, ev.sent);
    assert_eq!(a.class, crate::model::Class::Emergency, "{}", a.reason);
    let t = compose(&long, ChannelKind::Weibo, Some(LINK)).unwrap();
    let n = fit::char_count(&t);
    assert!(n <= 140, "{n} chars: {t}");
    for fact in ["4月20日8时2分", "7.0级", "深13千米", "约", "千米", LINK] {
        assert!(t.contains(fact), "missing {fact}: {t}");
    }
    let distance = format!("约{:.0}千米", a.distance_km.unwrap());
    assert!(t.contains(&distance), "missing {distance}: {t}");
    assert!(
        t.contains("四川省雅安市芦山县龙门乡四川省雅安市") && t.contains("…"),
        "{t}"
    );
    // Cut no more than needed: one more character of the place would not fit.
    assert_eq!(n, 140, "{t}");
}

#[test]
fn a_red_warning_with_a_huge_area_and_headline_is_posted_within_the_limit() {
    let red = include_str!("../../alerts/samples/rainstorm-red.json");
    let mut v: serde_json::Value = serde_json::from_str(red).unwrap();
    v["weather"]["area"]["desc"] = "成都市锦江区、青羊区、金牛区".repeat(30).into();
    v["weather"]["headline"] = "成都市气象台发布暴雨红色预警信号".repeat(30).into();
    let long = v.to_string();
    let t = compose(&long, ChannelKind::Weibo, Some(LINK)).unwrap();
    assert!(fit::char_count(&t) <= 140, "{t}");
    for fact in ["暴雨红色预警", "7月1日18时0分", "成都市锦江区", "…", LINK] {
        assert!(t.contains(fact), "missing {fact}: {t}");
    }
}

#[test]
fn a_template_whose_shortest_form_shows_the_headline_has_it_shortened_after_the_place() {
    let mut env = base_env();
    env.add_template(
        "w.j2",
        "{{ weather.area }}|{{ weather.headline }}|{{ weather.expires }}",
    )
    .unwrap();
    let c = Composer { env };
    let red = include_str!("../../alerts/samples/rainstorm-red.json");
    let mut v: serde_json::Value = serde_json::from_str(red).unwrap();
    v["weather"]["area"]["desc"] = "区".repeat(200).into();
    v["weather"]["headline"] = "题".repeat(200).into();
    let cfg = Config::quickstart();
    let ev = decode(v.to_string().as_bytes(), 1 << 20).unwrap();
    let a = assess(&cfg, &ev, None, ev.sent);
    let ctx = context::build(&cfg, &ev, &a, None);
    let t = fit::weibo(&c, "w.j2", &ctx, 60, None).unwrap();
    assert_eq!(t, format!("…|{}…|7月1日18时0分", "题".repeat(60 - 13)), "{t}");
}

#[test]
fn weather_and_cancel_templates_render() {
    let red = include_str!("../../alerts/samples/rainstorm-red.json");
    let t = compose(red, ChannelKind::Wechat, None).unwrap();
    assert!(
        t.starts_with("【暴雨红色预警】成都市气象台发布暴雨红色预警信号"),
        "{t}"
    );
    assert!(t.contains("有效期至7月1日18时0分"), "{t}");
    let w = compose(red, ChannelKind::Weibo, Some(LINK)).unwrap();
    assert!(fit::char_count(&w) <= 140 && w.contains(LINK), "{w}");
}

#[test]
fn feed_hashes_cannot_make_a_topic() {
    let tricky = LUSHAN.replace("四川省雅安市芦山县", "#芦山#");
    let t = compose(&tricky, ChannelKind::Weibo, Some(LINK)).unwrap();
    assert!(!t.contains('#'), "{t}");
}

#[test]
fn feed_text_cannot_mention_an_account_or_carry_a_link() {
    // A place with Latin letters is renamed from the gazetteer, link and all (see place).
    let tricky = LUSHAN.replace(
        "四川省雅安市芦山县",
        "详见 https://evil.example.com/x @某人 四川省雅安市芦山县",
    );
    let t = compose(&tricky, ChannelKind::Weibo, Some(LINK)).unwrap();
    assert!(!t.contains('@') && !t.contains("evil"), "{t}");
    // A warning's headline is kept as written: its mention and link are defused.
    let red = include_str!("../../alerts/samples/rainstorm-red.json");
    let ev: serde_json::Value = serde_json::from_str(red).unwrap();
    let headline = ev["weather"]["headline"].as_str().unwrap().to_string();
    let tricky = red.replace(&headline, "详见https://evil.example.com/x请@某人转发");
    for channel in [ChannelKind::Weibo, ChannelKind::Wechat] {
        let t = compose(&tricky, channel, Some(LINK)).unwrap();
        assert!(!t.contains('@') && !t.contains("https://evil"), "{t}");
        assert!(t.contains("＠某人") && t.contains("https：//evil"), "{t}");
    }
}

#[test]
fn strict_undefined_is_an_error_with_line() {
    let mut env = base_env();
    env.add_template("x.j2", "ok\n{{ nope }}").unwrap();
    let c = Composer { env };
    let e = c
        .render("x.j2", &minijinja::context! {}, 0)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("x.j2") && e.contains("line 2") && e.contains("undefined"),
        "{e}"
    );
}

#[test]
fn fuel_stops_runaway_templates() {
    let mut env = base_env();
    env.add_template(
        "loop.j2",
        "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
    )
    .unwrap();
    let c = Composer { env };
    let e = c
        .render("loop.j2", &minijinja::context! {}, 0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("fuel"), "{e}");
}

fn link_cfg() -> Config {
    let mut cfg = Config::quickstart();
    cfg.compose.link_allowlist = vec!["www.example.gov.cn".into(), "*.example.org.cn".into()];
    cfg
}

fn web(url: &str) -> Option<String> {
    context::allowed_link(&link_cfg(), Some(url))
}

#[test]
fn web_links_only_from_allowlist() {
    assert_eq!(
        web("https://www.example.gov.cn/a/1?x=1#f"),
        Some("https://www.example.gov.cn/a/1?x=1#f".into())
    );
    assert_eq!(web("https://evil.example.com/x"), None);
    assert_eq!(web("https://www.example.gov.cn.evil.com/x"), None);
    assert_eq!(web("https://evil.com/www.example.gov.cn"), None);
    assert_eq!(web("https://1.2.3.4/"), None);
    assert_eq!(web("javascript:alert(1)"), None);
    assert_eq!(web("www.example.gov.cn/a"), None);
    assert_eq!(web(""), None);
}

#[test]
fn web_links_from_the_issue_are_refused() {
    assert_eq!(web("https://www.example.gov.cn:x@evil.example.com/phish"), None);
    assert_eq!(
        web("https://www.example.gov.cn/ 请立即访问 https://evil.example.com/"),
        None
    );
}

#[test]
fn web_links_with_userinfo_are_refused() {
    for url in [
        "https://user@www.example.gov.cn/",
        "https://user:pw@www.example.gov.cn/",
        "https://:pw@www.example.gov.cn/",
        "https://www.example.gov.cn@www.example.gov.cn/",
    ] {
        assert_eq!(web(url), None, "{url}");
    }
}

#[test]
fn web_links_with_whitespace_or_a_second_url_are_refused() {
    for url in [
        " https://www.example.gov.cn/a",
        "https://www.example.gov.cn/a ",
        "https://www.example.gov.cn/a\tb",
        "https://www.example.gov.cn/a\nhttps://evil.example.com/",
        "https://www.example.gov.cn/a\u{00A0}b",
        "https://www.example.gov.cn/a\u{3000}请访问evil.example.com",
        "https://www.example.gov.cn/a\u{2028}b",
        "https://www.example.gov.cn/https://evil.example.com/",
        "https://www.example.gov.cn/?next=https://evil.example.com/",
    ] {
        assert_eq!(web(url), None, "{url:?}");
    }
}

#[test]
fn web_links_with_look_alike_hosts_are_refused() {
    for url in [
        // Cyrillic е (U+0435) for e, as text and as the punycode it becomes.
        "https://www.\u{0435}xample.gov.cn/",
        "https://www.xn--xample-2of.gov.cn/",
        "https://www.examp1e.gov.cn/",
        "https://www.example.gov.cn./x",
        "https://www.example.gov.cn\u{200B}.evil.com/",
    ] {
        assert_eq!(web(url), None, "{url:?}");
    }
    // A host written differently but the same after IDNA is the same host; what is printed is
    // the normalised form, never the feed's spelling.
    assert_eq!(
        web("https://WWW.Example.GOV.cn/a"),
        Some("https://www.example.gov.cn/a".into())
    );
    assert_eq!(
        web("https://\u{FF57}\u{FF57}\u{FF57}.example.gov.cn/a"),
        Some("https://www.example.gov.cn/a".into())
    );
    assert_eq!(
        web("https://www.example.gov.cn/地震/1.html"),
        Some("https://www.example.gov.cn/%E5%9C%B0%E9%9C%87/1.html".into())
    );
}

#[test]
fn web_links_on_a_configured_subdomain_only() {
    assert_eq!(
        web("https://yjgl.example.org.cn/a"),
        Some("https://yjgl.example.org.cn/a".into())
    );
    assert_eq!(
        web("https://a.b.example.org.cn/a"),
        Some("https://a.b.example.org.cn/a".into())
    );
    // `*.` names the subdomains, not the domain itself, and a label must end at the dot.
    assert_eq!(web("https://example.org.cn/a"), None);
    assert_eq!(web("https://evilexample.org.cn/a"), None);
    assert_eq!(web("https://example.org.cn.evil.com/a"), None);
    // An exact entry does not admit its subdomains.
    assert_eq!(web("https://x.www.example.gov.cn/a"), None);
}

#[test]
fn web_links_must_be_https_on_the_default_port() {
    assert_eq!(web("http://www.example.gov.cn/a"), None);
    assert_eq!(web("ftp://www.example.gov.cn/a"), None);
    assert_eq!(web("https://www.example.gov.cn:8443/a"), None);
    assert_eq!(
        web("https://www.example.gov.cn:443/a"),
        Some("https://www.example.gov.cn/a".into())
    );
}

#[test]
#[ignore = "prints the texts for a human to read"]
fn show() {
    for s in [LUSHAN, include_str!("../../alerts/samples/rainstorm-red.json")] {
        println!("{}\n---", compose(s, ChannelKind::Wechat, None).unwrap());
        let w = compose(s, ChannelKind::Weibo, Some(LINK)).unwrap();
        println!("{w} ({} chars)\n===", fit::char_count(&w));
    }
}

#[test]
fn web_links_never_panic_on_odd_bytes() {
    for url in [
        "https:地震",
        "https:www.example.gov.cn/地?a=https:",
        "https://[::1]/",
        "https://%/",
        "https://地震.政务/",
    ] {
        let _ = web(url);
    }
    assert_eq!(
        web("https:www.example.gov.cn/a"),
        Some("https://www.example.gov.cn/a".into())
    );
}

/// Any feed free text a shortest form prints can be cut, not only the place: a warning type of
/// hundreds of characters must not keep a red warning off Weibo either.
#[test]
fn other_free_text_in_the_shortest_form_is_cut_after_place_and_headline() {
    let red = include_str!("../../alerts/samples/rainstorm-red.json");
    let mut v: serde_json::Value = serde_json::from_str(red).unwrap();
    // A type that names no known signal (one that does is read as that signal, feed::signal).
    v["weather"]["type_name"] = "特大".repeat(150).into();
    let t = compose(&v.to_string(), ChannelKind::Weibo, Some(LINK)).unwrap();
    assert!(fit::char_count(&t) <= 140, "{t}");
    for fact in ["特大特大", "…红色预警", "成都市中心城区", "7月1日18时0分", LINK] {
        assert!(t.contains(fact), "missing {fact}: {t}");
    }
}

#[test]
fn a_validity_from_a_broken_clock_or_decades_ahead_is_not_printed() {
    let cfg = Config::quickstart();
    let red = include_str!("../../alerts/samples/rainstorm-red.json");
    let weibo = |json: &str, now: &str| {
        let ev = decode(json.as_bytes(), 1 << 20).unwrap();
        let a = assess(&cfg, &ev, None, now.parse().unwrap());
        let ctx = context::build(&cfg, &ev, &a, Some(LINK));
        Composer::builtin()
            .compose("weather", ChannelKind::Weibo, &ctx, 140, Some(LINK))
            .unwrap()
    };
    let ev = decode(red.as_bytes(), 1 << 20).unwrap();
    let now = ev.sent.to_string();
    assert!(weibo(red, &now).contains("有效期至"), "{}", weibo(red, &now));
    let far = red.replace(
        r#""expires": "2024-07-01T18:00:00+08:00""#,
        r#""expires": "2100-07-01T18:00:00+08:00""#,
    );
    assert_ne!(far, red);
    assert!(!weibo(&far, &now).contains("有效期至"), "{}", weibo(&far, &now));
    // The provider's clock is decades ahead: sent and expires in 2100, received today.
    let clock = red.replace("2024-07-01", "2100-07-01");
    assert!(
        !weibo(&clock, &now).contains("有效期至"),
        "{}",
        weibo(&clock, &now)
    );
}

#[test]
fn web_links_over_256_characters_are_refused() {
    let base = "https://www.example.gov.cn/";
    let at = |n: usize| format!("{base}{}", "a".repeat(n - base.len()));
    assert_eq!(web(&at(256)), Some(at(256)));
    assert_eq!(
        link::check(&link_cfg().compose.link_allowlist, &at(257)),
        Err(link::LinkRefused::TooLong(257))
    );
    assert_eq!(web(&format!("{base}{}", "a".repeat(3000))), None);
    // Counted as printed: 60 CJK characters are 540 once percent-encoded.
    let cjk = format!("{base}{}", "中".repeat(60));
    assert!(cjk.chars().count() < 100);
    assert_eq!(
        link::check(&link_cfg().compose.link_allowlist, &cjk),
        Err(link::LinkRefused::TooLong(base.len() + 540))
    );
}

/// A template that prints `{{ web }}` on Weibo, and a feed that sends a link of thousands of
/// characters (or one within the limit, but longer than a post): the post still goes, without it.
fn compose_with_web(web_link: Option<&str>, template: &'static str) -> Result<String, ComposeError> {
    let mut env = base_env();
    env.add_template("quake.weibo.j2", template).unwrap();
    let c = Composer { env };
    let mut v: serde_json::Value = serde_json::from_str(LUSHAN).unwrap();
    if let Some(w) = web_link {
        v["web"] = w.into();
    }
    let cfg = Config::quickstart();
    let ev = decode(v.to_string().as_bytes(), 1 << 20).unwrap();
    let a = assess(&cfg, &ev, None, ev.sent);
    let ctx = context::build(&cfg, &ev, &a, Some(LINK));
    c.compose("quake", ChannelKind::Weibo, &ctx, 140, Some(LINK))
}

#[test]
fn a_long_web_link_cannot_stop_a_weibo_post() {
    let tpl =
        "【地震速报】{{ quake.time }}{{ quake.place }}发生{{ quake.magnitude }}级地震。{{ web }} {{ link }}";
    let huge = format!("https://www.example.gov.cn/{}", "a".repeat(3000));
    let t = compose_with_web(Some(&huge), tpl).unwrap();
    assert!(fit::char_count(&t) <= 140, "{t}");
    assert!(
        t.contains("7.0级地震") && t.contains(LINK) && !t.contains("aaaa"),
        "{t}"
    );
    // Within the link limit, but too long for a post: left out too, rather than the post.
    let long = format!("https://www.example.gov.cn/{}", "b".repeat(200));
    let t = compose_with_web(Some(&long), tpl).unwrap();
    assert!(fit::char_count(&t) <= 140 && !t.contains("bbbb"), "{t}");
    // A short one is printed.
    let short = "https://www.example.gov.cn/q/1";
    let t = compose_with_web(Some(short), tpl).unwrap();
    assert!(t.contains(short), "{t}");
}

#[test]
fn an_absent_web_link_prints_nothing() {
    let t = compose_with_web(None, "[{{ web }}]{% if web %}详情{% endif %} {{ link }}").unwrap();
    assert!(t.starts_with("[] "), "{t}");
    let t = compose_with_web(Some("https://evil.example.com/"), "[{{ web }}] {{ link }}").unwrap();
    assert!(t.starts_with("[] "), "a refused link is absent too: {t}");
}
