//! Logs as HAProxy writes them (configuration.txt §3.1 `log`, §8 "Logging").
