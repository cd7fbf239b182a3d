use super::*;

#[test]
fn quickstart_is_valid() {
    let c = Config::quickstart();
    assert_eq!(c.mqtt.url, "embedded");
    assert_eq!(c.rules.quake.len(), 4);
    assert!(c.channels["wechat"].dry_run);
}

#[test]
fn unknown_key_is_named_with_line() {
    let e = Config::parse(
        "[jurisdiction]\nname='x'\nlat=1\nlon=2\nlattitude=3\n",
        Path::new("a.toml"),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("line 5") && e.contains("lattitude"), "{e}");
}

#[test]
fn semantic_problems_name_keys() {
    let e = Config::parse(
        "[jurisdiction]\nname='x'\nlat=100\nlon=2\n[channels.wechat]\nkind='wechat'\n",
        Path::new("a.toml"),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("jurisdiction.lat"), "{e}");
    assert!(e.contains("channels.wechat.appid"), "{e}");
    assert!(e.contains("channels.wechat.secret"), "{e}");
}

#[test]
fn mqtt_protocol_is_validated() {
    let base = "[jurisdiction]\nname='x'\nlat=1\nlon=2\n";
    let c = Config::parse(base, Path::new("a.toml")).unwrap();
    assert_eq!(c.mqtt.protocol, "3.1.1");
    assert!(!c.mqtt.is_v5());
    assert_eq!(c.mqtt.session_expiry_secs, 604800);
    let c = Config::parse(
        &format!("[mqtt]\nprotocol = \"5\"\nsession_expiry_secs = 3600\n{base}"),
        Path::new("a.toml"),
    )
    .unwrap();
    assert!(c.mqtt.is_v5());
    assert_eq!(c.mqtt.session_expiry_secs, 3600);
    let e = Config::parse(&format!("[mqtt]\nprotocol = \"4\"\n{base}"), Path::new("a.toml"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("mqtt.protocol: \"4\""), "{e}");
    let e = Config::parse(
        &format!("[mqtt]\nurl = \"embedded\"\nprotocol = \"5\"\n{base}"),
        Path::new("a.toml"),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("mqtt.protocol") && e.contains("embedded"), "{e}");
}

#[test]
fn deploy_example_parses() {
    let text = include_str!("../../deploy/alertd.toml");
    std::env::remove_var("CREDENTIALS_DIRECTORY");
    // Paths to secret files need not exist to parse.
    Config::parse(text, Path::new("deploy/alertd.toml")).unwrap();
}

#[test]
fn weibo_pacing_keys_and_reserved_bucket_names_are_validated() {
    let base = "[jurisdiction]\nname='x'\nlat=1\nlon=2\n[channels.weibo]\nkind='weibo'\naccess_token='t'\nlink='https://a.example/'\n";
    let c = Config::parse(base, Path::new("a.toml")).unwrap();
    assert_eq!(
        c.channels["weibo"]
            .weibo()
            .map(|w| (w.posts_per_hour, w.source_posts_per_hour))
            .unwrap_or_default(),
        (30, 15)
    );
    let e = Config::parse(
        &format!("{base}source_posts_per_hour = 31\n"),
        Path::new("a.toml"),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("channels.weibo.source_posts_per_hour"), "{e}");
    let e = Config::parse(
        &format!("{base}[feed_keys.unsigned]\nsecret = 'k'\n"),
        Path::new("a.toml"),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("feed_keys.unsigned: the name is reserved"), "{e}");
}

#[test]
fn link_allowlist_entries_are_hosts_or_subdomain_patterns() {
    let base = "[jurisdiction]\nname='x'\nlat=1\nlon=2\n[compose]\n";
    let ok =
        format!("{base}link_allowlist = [\"www.example.gov.cn\", \"*.example.org.cn\", \"应急.政务\"]\n");
    Config::parse(&ok, Path::new("a.toml")).unwrap();
    for bad in [
        "https://www.example.gov.cn",
        "www.example.gov.cn/a",
        "www.example.gov.cn:443",
        "1.2.3.4",
        "*example.gov.cn",
        "a.*.example.gov.cn",
        "",
    ] {
        let e = Config::parse(
            &format!("{base}link_allowlist = [{bad:?}]\n"),
            Path::new("a.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("compose.link_allowlist"), "{bad}: {e}");
    }
}

const BASE: &str = "[jurisdiction]\nname='x'\nlat=1\nlon=2\n";

fn parse_err(text: &str) -> String {
    Config::parse(text, Path::new("a.toml")).unwrap_err().to_string()
}

#[test]
fn a_wechat_key_on_a_weibo_channel_is_an_error_naming_key_channel_and_kind() {
    let e = parse_err(&format!(
        "{BASE}[channels.social]\nkind='weibo'\naccess_token='t'\nlink='https://a.example/'\nappid='wx1'\n"
    ));
    assert!(
        e.contains("channels.social") && e.contains("`appid`") && e.contains("\"weibo\""),
        "{e}"
    );
    assert!(e.contains("line 5"), "{e}");
}

#[test]
fn a_weibo_key_on_a_wechat_channel_is_an_error() {
    let e = parse_err(&format!(
        "{BASE}[channels.wechat]\nkind='wechat'\nappid='wx1'\nsecret='s'\nrip='1.2.3.4'\n"
    ));
    assert!(
        e.contains("channels.wechat") && e.contains("`rip`") && e.contains("\"wechat\""),
        "{e}"
    );
}

#[test]
fn a_website_without_web_root_is_refused() {
    let e = parse_err(&format!(
        "{BASE}[channels.site]\nkind='website'\nlink_base='https://www.example.gov.cn/yjgl'\n"
    ));
    assert!(e.contains("channels.site.web_root: required"), "{e}");
    let e = parse_err(&format!(
        "{BASE}[channels.site]\nkind='website'\nweb_root='/srv'\nlink_base='ftp://x'\n"
    ));
    assert!(e.contains("channels.site.link_base"), "{e}");
}

#[test]
fn the_time_zone_is_parsed_once_and_a_bad_one_names_the_channel() {
    let e = parse_err(&format!(
        "{BASE}[channels.staff]\nkind='wecom'\nkey='k'\ntimezone='Mars/Olympus'\n"
    ));
    assert!(
        e.contains("channels.staff.timezone") && e.contains("Mars/Olympus"),
        "{e}"
    );
    let c = Config::parse(
        &format!("{BASE}[channels.staff]\nkind='wecom'\nkey='k'\ntimezone='Asia/Urumqi'\n"),
        Path::new("a.toml"),
    )
    .unwrap();
    assert_eq!(c.channels["staff"].timezone.iana_name(), Some("Asia/Urumqi"));
    let c = Config::quickstart();
    assert_eq!(c.channels["weibo"].timezone.iana_name(), Some("Asia/Shanghai"));
}

#[test]
fn every_kind_takes_the_common_keys() {
    let common =
        "api_base='https://a.example'\ndry_run=true\ntimezone='Asia/Shanghai'\nrequest_timeout_secs=3\n";
    for (name, kind) in [
        ("a", "kind='wechat'\nappid='wx'"),
        ("b", "kind='weibo'\nlink='https://a.example/'"),
        ("c", "kind='wecom'"),
        ("d", "kind='webhook'\nurl='https://a.example/hook'"),
        (
            "e",
            "kind='website'\nweb_root='/srv'\nlink_base='https://a.example/'",
        ),
    ] {
        let c = Config::parse(
            &format!("{BASE}[channels.{name}]\n{kind}\n{common}"),
            Path::new("a.toml"),
        )
        .unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_eq!(c.channels[name].request_timeout_secs, 3);
    }
}

/// Every `toml` block of the README that has a `[channels.` table, on top of a minimal config.
#[test]
fn readme_examples_parse() {
    std::env::remove_var("CREDENTIALS_DIRECTORY");
    let readme = include_str!("../../README.md");
    let mut n = 0;
    for block in readme.split("```toml").skip(1) {
        let block = block.split("```").next().unwrap_or("");
        if !block.contains("[channels.") {
            continue;
        }
        let text = if block.contains("[jurisdiction]") {
            block.to_string()
        } else {
            format!("{BASE}{block}")
        };
        Config::parse(&text, Path::new("README.md")).unwrap_or_else(|e| panic!("{e}\n{block}"));
        n += 1;
    }
    assert!(n > 0, "the README has channel examples");
    Config::quickstart();
}
