
use builtin;
use str;

set edit:completion:arg-completer[pantheon-metrics] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'pantheon-metrics'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'pantheon-metrics'= {
            cand --api-url 'Base URL of the Pantheon API'
            cand --tokens-file 'File of machine tokens, one per line (blank lines and # comments ignored)'
            cand --env 'Site environment whose traffic is read'
            cand --org-id 'Only the sites of this organization (UUID)'
            cand --site-limit 'At most this many sites in all (0 = no limit)'
            cand --concurrency 'API requests in flight at once, across all accounts'
            cand --max-rps 'Cap on API request starts per second (0 = no cap)'
            cand --timeout 'Timeout of one whole API request (e.g. 30s, 2m)'
            cand --log-format 'Log format on stderr'
            cand --log-level 'Log level or filter (error, warn, info, debug, trace, or a RUST_LOG-style filter)'
            cand --retry-base 'First retry backoff step (tests shorten it)'
            cand --debug 'Log every API request and response to stderr (secrets redacted)'
            cand --demo 'Run against the built-in fake Pantheon API with demo accounts (no token needed)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand sites 'List every site each machine token can see'
            cand fetch 'Fetch daily traffic metrics for some or all sites'
            cand serve 'Run the Prometheus exporter'
            cand usage 'Month-to-date visits of each site against its plan''s allowance, projected to the month''s end; most at risk first'
            cand completions 'Print shell completions'
            cand man 'Write man pages (one per command) into DIR'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'pantheon-metrics;sites'= {
            cand --format 'format'
            cand --api-url 'Base URL of the Pantheon API'
            cand --tokens-file 'File of machine tokens, one per line (blank lines and # comments ignored)'
            cand --env 'Site environment whose traffic is read'
            cand --org-id 'Only the sites of this organization (UUID)'
            cand --site-limit 'At most this many sites in all (0 = no limit)'
            cand --concurrency 'API requests in flight at once, across all accounts'
            cand --max-rps 'Cap on API request starts per second (0 = no cap)'
            cand --timeout 'Timeout of one whole API request (e.g. 30s, 2m)'
            cand --log-format 'Log format on stderr'
            cand --log-level 'Log level or filter (error, warn, info, debug, trace, or a RUST_LOG-style filter)'
            cand --retry-base 'First retry backoff step (tests shorten it)'
            cand --debug 'Log every API request and response to stderr (secrets redacted)'
            cand --demo 'Run against the built-in fake Pantheon API with demo accounts (no token needed)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'pantheon-metrics;fetch'= {
            cand --duration 'Days (Nd, 1-28), weeks (Nw, 1-12) or months (Nm, 1-12)'
            cand --format 'format'
            cand -o 'Write to this file atomically instead of stdout'
            cand --output 'Write to this file atomically instead of stdout'
            cand --api-url 'Base URL of the Pantheon API'
            cand --tokens-file 'File of machine tokens, one per line (blank lines and # comments ignored)'
            cand --env 'Site environment whose traffic is read'
            cand --org-id 'Only the sites of this organization (UUID)'
            cand --site-limit 'At most this many sites in all (0 = no limit)'
            cand --concurrency 'API requests in flight at once, across all accounts'
            cand --max-rps 'Cap on API request starts per second (0 = no cap)'
            cand --timeout 'Timeout of one whole API request (e.g. 30s, 2m)'
            cand --log-format 'Log format on stderr'
            cand --log-level 'Log level or filter (error, warn, info, debug, trace, or a RUST_LOG-style filter)'
            cand --retry-base 'First retry backoff step (tests shorten it)'
            cand --no-timestamps 'Only the newest day, no timestamps (for node_exporter''s textfile collector); prom only'
            cand --debug 'Log every API request and response to stderr (secrets redacted)'
            cand --demo 'Run against the built-in fake Pantheon API with demo accounts (no token needed)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'pantheon-metrics;serve'= {
            cand --listen 'Address to listen on'
            cand --port 'Shorthand for --listen 0.0.0.0:N'
            cand --refresh-interval 'How often site lists are re-read and each site refreshed (90s, 30m, 1h; a bare number is minutes)'
            cand --history 'Which days /metrics carries'
            cand --history-window 'With --history bootstrap: how long a learned or changed day is served with its timestamp'
            cand --refresh-duration 'Traffic fetched on each refresh (daily, 1-28)'
            cand --web.config.file 'TLS and basic-auth settings, in the Prometheus exporter-toolkit format'
            cand --tick 'Scheduler tick (tests shorten it)'
            cand --shard 'Run as shard K of N replicas: fetch and export only the sites whose id hashes (FNV-1a 64) to K-1 modulo N'
            cand --state-file 'Keep what is held in this file (JSON), so a restart serves it at once and fetches only what is missing or stale'
            cand --remote-write 'Push every day learned to this Prometheus remote-write URL (repeatable)'
            cand --remote-write-basic-auth-file 'File whose first line is USERNAME:PASSWORD for every remote-write URL'
            cand --remote-write-bearer-token-file 'File whose first line is a bearer token for every remote-write URL'
            cand --remote-write-queue-batches 'Remote-write batches kept per URL while it is slow or down (2000 samples each); beyond, the oldest batch is dropped'
            cand --remote-write-batch-samples 'Samples per remote-write request'
            cand --remote-write-max-backoff 'Longest wait between remote-write retries'
            cand --allowances 'Monthly visits per plan and per site (YAML; see deploy/allowances.example.yml). With --demo and no file, the demo''s own'
            cand --watch-threshold 'A site whose projection reaches this share of its allowance is on watch (percent)'
            cand --api-url 'Base URL of the Pantheon API'
            cand --tokens-file 'File of machine tokens, one per line (blank lines and # comments ignored)'
            cand --env 'Site environment whose traffic is read'
            cand --org-id 'Only the sites of this organization (UUID)'
            cand --site-limit 'At most this many sites in all (0 = no limit)'
            cand --concurrency 'API requests in flight at once, across all accounts'
            cand --max-rps 'Cap on API request starts per second (0 = no cap)'
            cand --timeout 'Timeout of one whole API request (e.g. 30s, 2m)'
            cand --log-format 'Log format on stderr'
            cand --log-level 'Log level or filter (error, warn, info, debug, trace, or a RUST_LOG-style filter)'
            cand --retry-base 'First retry backoff step (tests shorten it)'
            cand --debug 'Log every API request and response to stderr (secrets redacted)'
            cand --demo 'Run against the built-in fake Pantheon API with demo accounts (no token needed)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'pantheon-metrics;usage'= {
            cand --allowances 'Monthly visits per plan and per site (YAML; see deploy/allowances.example.yml). With --demo and no file, the demo''s own'
            cand --watch-threshold 'A site whose projection reaches this share of its allowance is on watch (percent)'
            cand --format 'format'
            cand --fail-on 'Exit with code 4 when any site is at or past this status'
            cand -o 'Write to this file atomically instead of stdout'
            cand --output 'Write to this file atomically instead of stdout'
            cand --today 'The report''s date (YYYY-MM-DD, UTC) instead of today (tests pin it)'
            cand --api-url 'Base URL of the Pantheon API'
            cand --tokens-file 'File of machine tokens, one per line (blank lines and # comments ignored)'
            cand --env 'Site environment whose traffic is read'
            cand --org-id 'Only the sites of this organization (UUID)'
            cand --site-limit 'At most this many sites in all (0 = no limit)'
            cand --concurrency 'API requests in flight at once, across all accounts'
            cand --max-rps 'Cap on API request starts per second (0 = no cap)'
            cand --timeout 'Timeout of one whole API request (e.g. 30s, 2m)'
            cand --log-format 'Log format on stderr'
            cand --log-level 'Log level or filter (error, warn, info, debug, trace, or a RUST_LOG-style filter)'
            cand --retry-base 'First retry backoff step (tests shorten it)'
            cand --debug 'Log every API request and response to stderr (secrets redacted)'
            cand --demo 'Run against the built-in fake Pantheon API with demo accounts (no token needed)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'pantheon-metrics;completions'= {
            cand --api-url 'Base URL of the Pantheon API'
            cand --tokens-file 'File of machine tokens, one per line (blank lines and # comments ignored)'
            cand --env 'Site environment whose traffic is read'
            cand --org-id 'Only the sites of this organization (UUID)'
            cand --site-limit 'At most this many sites in all (0 = no limit)'
            cand --concurrency 'API requests in flight at once, across all accounts'
            cand --max-rps 'Cap on API request starts per second (0 = no cap)'
            cand --timeout 'Timeout of one whole API request (e.g. 30s, 2m)'
            cand --log-format 'Log format on stderr'
            cand --log-level 'Log level or filter (error, warn, info, debug, trace, or a RUST_LOG-style filter)'
            cand --retry-base 'First retry backoff step (tests shorten it)'
            cand --debug 'Log every API request and response to stderr (secrets redacted)'
            cand --demo 'Run against the built-in fake Pantheon API with demo accounts (no token needed)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'pantheon-metrics;man'= {
            cand --api-url 'Base URL of the Pantheon API'
            cand --tokens-file 'File of machine tokens, one per line (blank lines and # comments ignored)'
            cand --env 'Site environment whose traffic is read'
            cand --org-id 'Only the sites of this organization (UUID)'
            cand --site-limit 'At most this many sites in all (0 = no limit)'
            cand --concurrency 'API requests in flight at once, across all accounts'
            cand --max-rps 'Cap on API request starts per second (0 = no cap)'
            cand --timeout 'Timeout of one whole API request (e.g. 30s, 2m)'
            cand --log-format 'Log format on stderr'
            cand --log-level 'Log level or filter (error, warn, info, debug, trace, or a RUST_LOG-style filter)'
            cand --retry-base 'First retry backoff step (tests shorten it)'
            cand --debug 'Log every API request and response to stderr (secrets redacted)'
            cand --demo 'Run against the built-in fake Pantheon API with demo accounts (no token needed)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'pantheon-metrics;help'= {
            cand sites 'List every site each machine token can see'
            cand fetch 'Fetch daily traffic metrics for some or all sites'
            cand serve 'Run the Prometheus exporter'
            cand usage 'Month-to-date visits of each site against its plan''s allowance, projected to the month''s end; most at risk first'
            cand completions 'Print shell completions'
            cand man 'Write man pages (one per command) into DIR'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'pantheon-metrics;help;sites'= {
        }
        &'pantheon-metrics;help;fetch'= {
        }
        &'pantheon-metrics;help;serve'= {
        }
        &'pantheon-metrics;help;usage'= {
        }
        &'pantheon-metrics;help;completions'= {
        }
        &'pantheon-metrics;help;man'= {
        }
        &'pantheon-metrics;help;help'= {
        }
    ]
    $completions[$command]
}
