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
        (
            c.channels["weibo"].posts_per_hour,
            c.channels["weibo"].source_posts_per_hour
        ),
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
