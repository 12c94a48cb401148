//! Email steps: one message through the worker's SMTP server (lettre). Every string setting
//! may be a template; rendered values that go into headers are checked again (addresses
//! parsed, no line breaks), so nothing a template produces can add a header or a recipient.

use super::templating::Templates;
use super::{StepContext, StepFailure, StepSuccess};
use crate::settings::{SmtpSettings, SmtpTls};
use actuate_shared::domain::step_settings::EmailSettings;
use actuate_shared::storage::ClaimedStep;
use actuate_shared::vault::ProjectSecrets;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde_json::json;

pub struct EmailSender {
    smtp: Option<(SmtpSettings, AsyncSmtpTransport<Tokio1Executor>)>,
    max_recipients: usize,
}

impl EmailSender {
    pub fn new(smtp: Option<SmtpSettings>, max_recipients: usize) -> anyhow::Result<Self> {
        let smtp = smtp
            .map(|settings| {
                if settings.tls == SmtpTls::None && settings.username.is_some() {
                    tracing::warn!(host = %settings.host, "SMTP credentials are sent without TLS (ACTUATE_SMTP_ALLOW_PLAINTEXT_AUTH)");
                }
                let transport = transport(&settings)?;
                anyhow::Ok((settings, transport))
            })
            .transpose()?;
        Ok(Self {
            smtp,
            max_recipients,
        })
    }

    pub async fn send(
        &self,
        settings: &EmailSettings,
        step: &ClaimedStep,
        context: &StepContext<'_>,
        secrets: &ProjectSecrets,
    ) -> Result<StepSuccess, StepFailure> {
        let Some((smtp, transport)) = &self.smtp else {
            return Err(StepFailure::new(
                "SMTP is not configured: set ACTUATE_SMTP_HOST and ACTUATE_SMTP_FROM on the worker",
            ));
        };
        let templates = Templates::new(context, secrets);
        let addresses = |field: &str, list: &[String]| -> Result<Vec<Mailbox>, StepFailure> {
            list.iter()
                .enumerate()
                .map(|(i, raw)| mailbox(&format!("{field}[{i}]"), &templates.render(field, raw)?))
                .collect()
        };
        let to = addresses("recipients", &settings.recipients)?;
        let cc = addresses("cc", &settings.cc)?;
        let bcc = addresses("bcc", &settings.bcc)?;
        let total = to.len() + cc.len() + bcc.len();
        if total > self.max_recipients {
            return Err(StepFailure::new(format!(
                "{total} recipients exceed the limit of {} (ACTUATE_EMAIL_MAX_RECIPIENTS)",
                self.max_recipients
            )));
        }
        let subject = match &settings.subject {
            Some(s) => templates.render("subject", s)?,
            None => String::new(),
        };
        if subject.contains(['\r', '\n']) {
            return Err(StepFailure::new(
                "subject: contains a line break once rendered",
            ));
        }
        let text = settings
            .body
            .as_deref()
            .map(|b| templates.render("body", b))
            .transpose()?;
        let html = settings
            .html
            .as_deref()
            .map(|h| templates.render_html("html", h))
            .transpose()?;

        // Stable per execution and step: a retried step sends the same Message-ID, so the
        // receiving side can recognise the repeat.
        let message_id = format!(
            "<{}.{}@actuate>",
            context.execution.fence.execution_id, step.step_number
        );
        let mut builder = Message::builder()
            .from(smtp.from.clone())
            .subject(subject)
            .message_id(Some(message_id.clone()));
        for m in &to {
            builder = builder.to(m.clone());
        }
        for m in &cc {
            builder = builder.cc(m.clone());
        }
        for m in &bcc {
            builder = builder.bcc(m.clone());
        }
        if let Some(reply_to) = &settings.reply_to {
            builder =
                builder.reply_to(mailbox("replyTo", &templates.render("replyTo", reply_to)?)?);
        }
        let message = match (text, html) {
            (Some(text), Some(html)) => {
                builder.multipart(MultiPart::alternative_plain_html(text, html))
            }
            (None, Some(html)) => builder.singlepart(SinglePart::html(html)),
            (text, None) => builder.singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .body(text.unwrap_or_default()),
            ),
        }
        .map_err(|e| StepFailure::new(format!("cannot build the message: {e}")))?;

        let response = transport.send(message).await.map_err(|e| {
            let message = format!(
                "SMTP {}:{}: {}",
                smtp.host,
                smtp.port,
                super::error_chain(&e)
            );
            // A 4xx answer ("try again later": greylisting, a full queue) may pass.
            if e.is_transient() {
                StepFailure::transient(message, None)
            } else {
                StepFailure::new(message)
            }
        })?;
        let accepted: Vec<String> = to
            .iter()
            .chain(&cc)
            .chain(&bcc)
            .map(|m| m.email.to_string())
            .collect();
        Ok(StepSuccess {
            output: json!({
                "accepted": accepted,
                "messageId": message_id,
                "response": {
                    "code": response.code().to_string(),
                    "message": response.message().collect::<Vec<_>>().join("\n"),
                },
            }),
            log: None,
        })
    }
}

/// One address, as `a@b.c` or `Name <a@b.c>`; a line break anywhere is refused outright.
fn mailbox(field: &str, text: &str) -> Result<Mailbox, StepFailure> {
    if text.contains(['\r', '\n']) {
        return Err(StepFailure::new(format!("{field}: contains a line break")));
    }
    text.trim().parse::<Mailbox>().map_err(|e| {
        StepFailure::new(format!(
            "{field}: '{}' is not an email address ({e})",
            text.escape_debug()
        ))
    })
}

fn transport(settings: &SmtpSettings) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
    let mut builder = match settings.tls {
        SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.host),
        SmtpTls::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&settings.host)?,
        SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&settings.host)?,
    }
    .port(settings.port)
    .timeout(Some(settings.timeout));
    if let Some(username) = &settings.username {
        builder = builder.credentials(Credentials::new(
            username.clone(),
            settings.password.clone().unwrap_or_default(),
        ));
    }
    Ok(builder.build())
}
