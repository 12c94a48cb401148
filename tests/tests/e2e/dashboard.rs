//! The dashboard in a real browser: Debian's headless Chromium driven over WebDriver
//! (chromedriver) against real API and worker processes. Signs in with the keyboard, opens a
//! project and an action, executes it with an input and sees it reach Completed without a
//! reload, reads its timeline, cancels a running execution, checks the pages at 360 px and
//! their weight, and signs out. Screenshots of the main pages go to
//! `target/dashboard-screenshots/`.

use actuate_tests::cluster::Cluster;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);
/// The most a page may weigh (its HTML, stylesheet and script).
const PAGE_BUDGET: usize = 200 * 1024;

/// chromedriver on a free loopback port, killed when dropped.
struct Driver {
    _child: tokio::process::Child,
    url: String,
}

async fn driver() -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = tokio::process::Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect(
            "chromedriver is not installed: scripts/setup.sh installs chromium and chromium-driver",
        );
    let url = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    for _ in 0..100 {
        if client.get(format!("{url}/status")).send().await.is_ok() {
            return Driver { _child: child, url };
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not answer on {url}");
}

async fn browser(driver: &Driver) -> Client {
    // The workspace builds rustls with more than one provider; pick one for the process, as
    // the binaries do.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1280,1000"],
        }),
    );
    ClientBuilder::rustls()
        .expect("rustls")
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a WebDriver session with headless Chromium")
}

fn screenshots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("target")
        .join("dashboard-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn screenshot(browser: &Client, name: &str) {
    let png = browser.screenshot().await.expect("screenshot");
    std::fs::write(screenshots().join(format!("{name}.png")), png).unwrap();
}

/// Waits until the element `css` shows `text` (the page is not reloaded meanwhile).
async fn wait_text(browser: &Client, css: &str, text: &str) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Ok(element) = browser.find(Locator::Css(css)).await
            && element.text().await.is_ok_and(|t| t.trim() == text)
        {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{css} never showed {text} at {}",
            browser.current_url().await.unwrap()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the browser is on a page whose path starts with `prefix`; its URL.
async fn wait_path(browser: &Client, prefix: &str) -> url::Url {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let url = browser.current_url().await.unwrap();
        if url.path().starts_with(prefix) {
            return url;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never reached {prefix}: {url}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Rows of the executions list.
async fn rows(browser: &Client) -> usize {
    browser
        .find_all(Locator::Css("#rows tbody tr td.id"))
        .await
        .unwrap()
        .len()
}

/// What the page weighs: its HTML plus the stylesheet and script every page loads.
async fn weight(browser: &Client) -> usize {
    let html = browser
        .execute("return document.documentElement.outerHTML.length;", vec![])
        .await
        .unwrap();
    html.as_u64().unwrap() as usize
        + include_str!("../../../api/src/ui/static/app.css").len()
        + include_str!("../../../api/src/ui/static/app.js").len()
}

#[tokio::test]
async fn sign_in_execute_watch_cancel_and_sign_out_in_a_real_browser() {
    let driver = driver().await;
    let mut cluster = Cluster::new("dashboard").await;
    let base = cluster.start_api().await;
    cluster.start_worker(&[]);
    let quick = cluster
        .post_action(json!({
            "name": "Nightly report",
            "steps": [
                {"stepType": "Python", "settings": {"code":
                    "import time\ntime.sleep(1.5)\nprint('rows:', context['input']['rows'])\nresult = {'rows': context['input']['rows']}"}},
                cluster.webhook_step("/report"),
            ],
        }))
        .await;
    let slow = cluster
        .post_action(json!({
            "name": "Long import",
            "steps": [{"stepType": "Python", "settings": {"code": "import time\ntime.sleep(60)"}}],
        }))
        .await;
    let project = cluster.project;
    let browser = browser(&driver).await;

    // Signing in, by keyboard: the token field has the focus; Enter submits.
    browser.goto(&format!("{base}/ui")).await.unwrap();
    assert!(
        browser
            .current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/ui/login")
    );
    screenshot(&browser, "sign-in").await;
    let focused = browser.active_element().await.unwrap();
    assert_eq!(focused.attr("id").await.unwrap().as_deref(), Some("token"));
    focused
        .send_keys(&format!("{}\u{E007}", cluster.token))
        .await
        .unwrap();
    wait_text(&browser, "h1", "Projects").await;

    // The tenant's project, then its actions.
    browser
        .find(Locator::Css(&format!("a[href='/ui/p/{project}/actions']")))
        .await
        .expect("the project with actions is listed")
        .click()
        .await
        .unwrap();
    wait_text(&browser, "h1", "Actions").await;
    screenshot(&browser, "actions").await;
    browser
        .find(Locator::LinkText("Nightly report"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&browser, "h1", "Nightly report").await;

    // Execute with an input; the execution's page follows it to Completed with no reload.
    browser
        .find(Locator::Id("input"))
        .await
        .unwrap()
        .send_keys(r#"{"rows": 1200}"#)
        .await
        .unwrap();
    browser
        .find(Locator::Css("button[type=submit]:not(.secondary)"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // The form's answer redirects to the execution's page (not at once under load).
    let url = wait_path(&browser, &format!("/ui/p/{project}/executions/")).await;
    browser
        .execute("window.stayed = true;", vec![])
        .await
        .unwrap();
    wait_text(&browser, "#status", "Completed").await;
    let stayed = browser
        .execute("return window.stayed === true;", vec![])
        .await
        .unwrap();
    assert_eq!(stayed, json!(true), "the page was reloaded");
    assert_eq!(browser.current_url().await.unwrap(), url);
    // Its timeline: a bar per step, and each step's output and log.
    let bars = browser
        .find_all(Locator::Css(".timeline .bar"))
        .await
        .unwrap();
    assert_eq!(bars.len(), 2);
    let page = browser.source().await.unwrap();
    assert!(page.contains("rows: 1200"), "the log is shown");
    assert!(page.contains("&quot;rows&quot;: 1200") || page.contains("\"rows\": 1200"));
    screenshot(&browser, "execution").await;
    assert!(weight(&browser).await < PAGE_BUDGET);

    // The executions list with its chart; it lists the run.
    browser
        .goto(&format!("{base}/ui/p/{project}/executions"))
        .await
        .unwrap();
    wait_text(&browser, "h1", "Executions").await;
    assert_eq!(rows(&browser).await, 1);
    assert!(
        !browser
            .find_all(Locator::Css(".chart svg rect"))
            .await
            .unwrap()
            .is_empty()
    );
    screenshot(&browser, "executions").await;
    assert!(weight(&browser).await < PAGE_BUDGET);

    // At 360 px wide nothing spills sideways.
    browser.set_window_size(360, 800).await.unwrap();
    let overflow = browser
        .execute(
            "return document.documentElement.scrollWidth <= window.innerWidth;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(overflow, json!(true), "the page is wider than 360 px");
    screenshot(&browser, "executions-360px").await;
    browser.set_window_size(1280, 1000).await.unwrap();

    // A running execution, cancelled from its page.
    browser
        .goto(&format!("{base}/ui/p/{project}/actions/{slow}"))
        .await
        .unwrap();
    browser
        .find(Locator::Css("button[type=submit]:not(.secondary)"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&browser, "#status", "Running").await;
    browser
        .find(Locator::Id("cancel"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&browser, "#status", "Failed").await;
    assert!(browser.source().await.unwrap().contains("cancelled"));

    // The list follows new executions without a reload; a filter narrows it.
    browser
        .goto(&format!("{base}/ui/p/{project}/executions"))
        .await
        .unwrap();
    assert_eq!(rows(&browser).await, 2);
    browser
        .execute("window.stayed = true;", vec![])
        .await
        .unwrap();
    cluster.execute(0, &quick).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while rows(&browser).await < 3 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the new execution never showed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let stayed = browser
        .execute("return window.stayed === true;", vec![])
        .await
        .unwrap();
    assert_eq!(stayed, json!(true), "the list was reloaded");
    browser
        .goto(&format!(
            "{base}/ui/p/{project}/executions?status=Failed&action={slow}"
        ))
        .await
        .unwrap();
    assert_eq!(rows(&browser).await, 1, "only the cancelled one failed");

    // Signing out ends the session: the pages send you to sign in again.
    browser
        .find(Locator::Css("header form button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&browser, "h1", "Sign in").await;
    browser
        .goto(&format!("{base}/ui/p/{project}/actions"))
        .await
        .unwrap();
    assert!(
        browser
            .current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/ui/login")
    );
    browser.close().await.unwrap();
    drop(driver);
}
