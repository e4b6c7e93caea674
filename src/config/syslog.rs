//! The `syslog` table of a config file, turned into a [`SyslogConfig`](crate::SyslogConfig).

use std::path::PathBuf;

use serde::Deserialize;

use crate::error::{Error, Result};

/// The `syslog` table of a [`HandlerConfig`](super::HandlerConfig):
/// `syslog = { url = "relp://collector:2514", facility = "local0", app_name = "api" }`.
/// Its keys are [`SyslogConfig`](crate::SyslogConfig)'s settings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SyslogSection {
    url: String,
    #[serde(default)]
    facility: Option<String>,
    #[serde(default)]
    app_name: Option<String>,
    #[serde(default)]
    hostname: Option<String>,
    #[serde(default)]
    msgid: Option<String>,
    #[serde(default)]
    enterprise_id: Option<u32>,
    /// `"local_file"`, `"collector"` or `"both"`.
    #[serde(default)]
    confirmation: Option<String>,
    #[serde(default)]
    ca_file: Option<PathBuf>,
    #[serde(default)]
    client_cert: Option<PathBuf>,
    #[serde(default)]
    client_key: Option<PathBuf>,
    #[serde(default)]
    server_name: Option<String>,
    #[serde(default)]
    buffer_capacity: Option<usize>,
    #[serde(default)]
    relp_window: Option<usize>,
    /// The longest message sent, in bytes.
    #[serde(default)]
    max_message_size: Option<usize>,
    /// `"drop"` (the default) or a number of milliseconds the writer may
    /// wait for room in the sink's buffer.
    #[serde(default)]
    when_full: Option<WhenFullSetting>,
    /// Earlier name: `flush_timeout_seconds`.
    #[serde(default, alias = "flush_timeout_seconds")]
    confirm_timeout_seconds: Option<u64>,
}

/// `when_full = "drop"` or `when_full = { wait_ms = 50 }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub(crate) enum WhenFullSetting {
    Named(String),
    Wait { wait_ms: u64 },
}

impl SyslogSection {
    pub(super) fn to_config(&self) -> Result<crate::SyslogConfig> {
        let mut config = crate::SyslogConfig::new(&self.url)?;
        if let Some(facility) = &self.facility {
            let facility = facility
                .parse::<crate::format::Facility>()
                .map_err(|e| Error::invalid_config(format!("syslog facility: {e}")))?;
            config = config.facility(facility);
        }
        if let Some(name) = &self.app_name {
            config = config.app_name(name);
        }
        if let Some(name) = &self.hostname {
            config = config.hostname(name);
        }
        if let Some(msgid) = &self.msgid {
            config = config.msgid(msgid);
        }
        if let Some(id) = self.enterprise_id {
            config = config.enterprise_id(id);
        }
        if let Some(confirmation) = &self.confirmation {
            config = config.confirmation(match confirmation.to_ascii_lowercase().as_str() {
                "local_file" | "file" => crate::Confirmation::LocalFile,
                "collector" => crate::Confirmation::Collector,
                "both" => crate::Confirmation::Both,
                other => {
                    return Err(Error::invalid_config(format!(
                        "syslog confirmation = \"{other}\": expected \"local_file\", \"collector\" or \"both\""
                    )));
                }
            });
        }
        if let Some(ca) = &self.ca_file {
            config = config.ca_file(ca);
        }
        match (&self.client_cert, &self.client_key) {
            (Some(cert), Some(key)) => config = config.client_auth(cert, key),
            (None, None) => {}
            _ => {
                return Err(Error::invalid_config(
                    "syslog client_cert and client_key go together",
                ));
            }
        }
        if let Some(name) = &self.server_name {
            config = config.server_name(name.clone());
        }
        if let Some(capacity) = self.buffer_capacity {
            config = config.buffer_capacity(capacity);
        }
        if let Some(window) = self.relp_window {
            config = config.relp_window(window);
        }
        if let Some(bytes) = self.max_message_size {
            config = config.max_message_size(bytes);
        }
        match &self.when_full {
            None => {}
            Some(WhenFullSetting::Named(name)) if name.eq_ignore_ascii_case("drop") => {
                config = config.when_full(crate::WhenFull::Drop);
            }
            Some(WhenFullSetting::Named(other)) => {
                return Err(Error::invalid_config(format!(
                    "syslog when_full = {other:?}: expected \"drop\" or {{ wait_ms = <milliseconds> }}"
                )));
            }
            Some(WhenFullSetting::Wait { wait_ms }) => {
                config = config.when_full(crate::WhenFull::Wait(super::millis(
                    "when_full wait_ms",
                    *wait_ms,
                )?));
            }
        }
        if let Some(secs) = self.confirm_timeout_seconds {
            config = config.confirm_timeout(super::seconds("confirm_timeout_seconds", secs)?);
        }
        Ok(config)
    }
}
