//! The baseline: a bare MQTT → HTTP forwarder. No journal, no dedup, no quota, no ordering:
//! subscribe at QoS 1 with rumqttc's automatic acks, and for every message POST a text to the
//! WeChat and Weibo fakes in parallel. It does the least a forwarder can do, so the gap between
//! it and alertd in the same run is the price of durability and decisions.
//!
//! Usage: forwarder BROKER_HOST:PORT TOPIC WECHAT_BASE WEIBO_BASE
//! Prints `ready` on stdout once subscribed.

use rumqttc::{AsyncClient, Event, Incoming, MqttOptions, QoS};
use serde_json::{json, Value};
use std::io::Write;
use std::time::Duration;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [broker, topic, wechat, weibo] = &args[..] else {
        eprintln!("usage: forwarder HOST:PORT TOPIC WECHAT_BASE WEIBO_BASE");
        std::process::exit(2);
    };
    let (host, port) = broker.rsplit_once(':').expect("HOST:PORT");
    let mut o = MqttOptions::new(
        format!("bench-forwarder-{}", std::process::id()),
        host,
        port.parse::<u16>().expect("port"),
    );
    o.set_keep_alive(Duration::from_secs(30));
    o.set_max_packet_size(16 << 20, 1 << 20);
    let (client, mut ev) = AsyncClient::new(o, 4096);
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .build()
        .expect("http client");
    let sendall = format!("{wechat}/cgi-bin/message/mass/sendall?access_token=bench");
    let share = format!("{weibo}/2/statuses/share.json");
    loop {
        match ev.poll().await {
            Ok(Event::Incoming(Incoming::ConnAck(_))) => {
                client
                    .subscribe(topic.clone(), QoS::AtLeastOnce)
                    .await
                    .expect("subscribe");
            }
            Ok(Event::Incoming(Incoming::SubAck(_))) => {
                println!("ready");
                let _ = std::io::stdout().flush();
            }
            Ok(Event::Incoming(Incoming::Publish(p))) => {
                let (http, sendall, share) = (http.clone(), sendall.clone(), share.clone());
                tokio::spawn(async move {
                    let v: Value = match serde_json::from_slice(&p.payload) {
                        Ok(v) => v,
                        Err(_) => return,
                    };
                    let place = v.pointer("/quake/place").and_then(Value::as_str).unwrap_or("");
                    let mag = v
                        .pointer("/quake/magnitude")
                        .and_then(Value::as_f64)
                        .unwrap_or(0.0);
                    let text =
                        format!("【地震速报】{place}发生{mag:.1}级地震。https://www.example.gov.cn/alerts");
                    let wx = http.post(&sendall).json(&json!({
                        "filter": {"is_to_all": true}, "msgtype": "text",
                        "text": {"content": text}, "clientmsgid": v.get("msg_id"),
                    }));
                    let wb = http.post(&share).form(&[
                        ("access_token", "bench"),
                        ("status", text.as_str()),
                        ("rip", "127.0.0.1"),
                    ]);
                    let _ = tokio::join!(wx.send(), wb.send());
                });
            }
            Ok(_) => {}
            Err(e) => {
                eprintln!("forwarder: mqtt: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}
