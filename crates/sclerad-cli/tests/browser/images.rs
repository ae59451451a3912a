//! The viewer beside the forms: the demo's synthetic images, whose
//! content agrees with the readings, read for real.

use serde_json::json;

use crate::harness::{Browser, Env};

/// The first unread exam whose description starts with `what`.
async fn open(b: &Browser<'_>, what: &str) -> String {
    b.goto("/read").await;
    let code = b
        .js(
            "const row = [...document.querySelectorAll('tr[data-code]')]
                .find(tr => !tr.classList.contains('read') && tr.cells[2].textContent.startsWith(arguments[0]));
             return row ? row.dataset.code : null;",
            vec![json!(what)],
        )
        .await;
    let code = code.as_str().expect("an exam").to_string();
    b.goto(&format!("/read/{code}")).await;
    code
}

#[test]
fn the_viewer_shows_the_exams_images() {
    let Some(env) = Env::start() else { return };
    env.run(async {
        let b = env.browser().await;
        b.viewport(1600, 1000).await;
        b.login(env.demo.user("reader", 0)).await;
        open(&b, "Spine").await;
        b.wait("document.querySelector('img[data-plane=axial]').complete && document.querySelector('img[data-plane=axial]').naturalWidth > 0", "the axial slice").await;
        b.shot("viewer-ct").await;
        open(&b, "Hand").await;
        b.wait("document.querySelector('img[data-plane=radiograph]').complete && document.querySelector('img[data-plane=radiograph]').naturalWidth > 0", "the radiograph").await;
        b.shot("viewer-hand").await;
        b.close().await;
    });
}
