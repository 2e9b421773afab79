
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'pantheon-metrics' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'pantheon-metrics'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'pantheon-metrics' {
            [CompletionResult]::new('--api-url', '--api-url', [CompletionResultType]::ParameterName, 'Base URL of the Pantheon API')
            [CompletionResult]::new('--tokens-file', '--tokens-file', [CompletionResultType]::ParameterName, 'File of machine tokens, one per line (blank lines and # comments ignored)')
            [CompletionResult]::new('--env', '--env', [CompletionResultType]::ParameterName, 'Site environment whose traffic is read')
            [CompletionResult]::new('--org-id', '--org-id', [CompletionResultType]::ParameterName, 'Only the sites of this organization (UUID)')
            [CompletionResult]::new('--site-limit', '--site-limit', [CompletionResultType]::ParameterName, 'At most this many sites in all (0 = no limit)')
            [CompletionResult]::new('--concurrency', '--concurrency', [CompletionResultType]::ParameterName, 'API requests in flight at once, across all accounts')
            [CompletionResult]::new('--max-rps', '--max-rps', [CompletionResultType]::ParameterName, 'Cap on API request starts per second (0 = no cap)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Timeout of one whole API request (e.g. 30s, 2m)')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log format on stderr')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log level or filter (error, warn, info, debug, trace, or a RUST_LOG-style filter)')
            [CompletionResult]::new('--retry-base', '--retry-base', [CompletionResultType]::ParameterName, 'First retry backoff step (tests shorten it)')
            [CompletionResult]::new('--debug', '--debug', [CompletionResultType]::ParameterName, 'Log every API request and response to stderr (secrets redacted)')
            [CompletionResult]::new('--demo', '--demo', [CompletionResultType]::ParameterName, 'Run against the built-in fake Pantheon API with demo accounts (no token needed)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('sites', 'sites', [CompletionResultType]::ParameterValue, 'List every site each machine token can see')
            [CompletionResult]::new('fetch', 'fetch', [CompletionResultType]::ParameterValue, 'Fetch daily traffic metrics for some or all sites')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Run the Prometheus exporter')
            [CompletionResult]::new('usage', 'usage', [CompletionResultType]::ParameterValue, 'Month-to-date visits of each site against its plan''s allowance, projected to the month''s end; most at risk first')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print shell completions')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Write man pages (one per command) into DIR')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'pantheon-metrics;sites' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'format')
            [CompletionResult]::new('--api-url', '--api-url', [CompletionResultType]::ParameterName, 'Base URL of the Pantheon API')
            [CompletionResult]::new('--tokens-file', '--tokens-file', [CompletionResultType]::ParameterName, 'File of machine tokens, one per line (blank lines and # comments ignored)')
            [CompletionResult]::new('--env', '--env', [CompletionResultType]::ParameterName, 'Site environment whose traffic is read')
            [CompletionResult]::new('--org-id', '--org-id', [CompletionResultType]::ParameterName, 'Only the sites of this organization (UUID)')
            [CompletionResult]::new('--site-limit', '--site-limit', [CompletionResultType]::ParameterName, 'At most this many sites in all (0 = no limit)')
            [CompletionResult]::new('--concurrency', '--concurrency', [CompletionResultType]::ParameterName, 'API requests in flight at once, across all accounts')
            [CompletionResult]::new('--max-rps', '--max-rps', [CompletionResultType]::ParameterName, 'Cap on API request starts per second (0 = no cap)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Timeout of one whole API request (e.g. 30s, 2m)')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log format on stderr')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log level or filter (error, warn, info, debug, trace, or a RUST_LOG-style filter)')
            [CompletionResult]::new('--retry-base', '--retry-base', [CompletionResultType]::ParameterName, 'First retry backoff step (tests shorten it)')
            [CompletionResult]::new('--debug', '--debug', [CompletionResultType]::ParameterName, 'Log every API request and response to stderr (secrets redacted)')
            [CompletionResult]::new('--demo', '--demo', [CompletionResultType]::ParameterName, 'Run against the built-in fake Pantheon API with demo accounts (no token needed)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'pantheon-metrics;fetch' {
            [CompletionResult]::new('--duration', '--duration', [CompletionResultType]::ParameterName, 'Days (Nd, 1-28), weeks (Nw, 1-12) or months (Nm, 1-12)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'format')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Write to this file atomically instead of stdout')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Write to this file atomically instead of stdout')
            [CompletionResult]::new('--api-url', '--api-url', [CompletionResultType]::ParameterName, 'Base URL of the Pantheon API')
            [CompletionResult]::new('--tokens-file', '--tokens-file', [CompletionResultType]::ParameterName, 'File of machine tokens, one per line (blank lines and # comments ignored)')
            [CompletionResult]::new('--env', '--env', [CompletionResultType]::ParameterName, 'Site environment whose traffic is read')
            [CompletionResult]::new('--org-id', '--org-id', [CompletionResultType]::ParameterName, 'Only the sites of this organization (UUID)')
            [CompletionResult]::new('--site-limit', '--site-limit', [CompletionResultType]::ParameterName, 'At most this many sites in all (0 = no limit)')
            [CompletionResult]::new('--concurrency', '--concurrency', [CompletionResultType]::ParameterName, 'API requests in flight at once, across all accounts')
            [CompletionResult]::new('--max-rps', '--max-rps', [CompletionResultType]::ParameterName, 'Cap on API request starts per second (0 = no cap)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Timeout of one whole API request (e.g. 30s, 2m)')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log format on stderr')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log level or filter (error, warn, info, debug, trace, or a RUST_LOG-style filter)')
            [CompletionResult]::new('--retry-base', '--retry-base', [CompletionResultType]::ParameterName, 'First retry backoff step (tests shorten it)')
            [CompletionResult]::new('--no-timestamps', '--no-timestamps', [CompletionResultType]::ParameterName, 'Only the newest day, no timestamps (for node_exporter''s textfile collector); prom only')
            [CompletionResult]::new('--debug', '--debug', [CompletionResultType]::ParameterName, 'Log every API request and response to stderr (secrets redacted)')
            [CompletionResult]::new('--demo', '--demo', [CompletionResultType]::ParameterName, 'Run against the built-in fake Pantheon API with demo accounts (no token needed)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'pantheon-metrics;serve' {
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Address to listen on')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'Shorthand for --listen 0.0.0.0:N')
            [CompletionResult]::new('--refresh-interval', '--refresh-interval', [CompletionResultType]::ParameterName, 'How often site lists are re-read and each site refreshed (90s, 30m, 1h; a bare number is minutes)')
            [CompletionResult]::new('--history', '--history', [CompletionResultType]::ParameterName, 'Which days /metrics carries')
            [CompletionResult]::new('--history-window', '--history-window', [CompletionResultType]::ParameterName, 'With --history bootstrap: how long a learned or changed day is served with its timestamp')
            [CompletionResult]::new('--refresh-duration', '--refresh-duration', [CompletionResultType]::ParameterName, 'Traffic fetched on each refresh (daily, 1-28)')
            [CompletionResult]::new('--web.config.file', '--web.config.file', [CompletionResultType]::ParameterName, 'TLS and basic-auth settings, in the Prometheus exporter-toolkit format')
            [CompletionResult]::new('--tick', '--tick', [CompletionResultType]::ParameterName, 'Scheduler tick (tests shorten it)')
            [CompletionResult]::new('--shard', '--shard', [CompletionResultType]::ParameterName, 'Run as shard K of N replicas: fetch and export only the sites whose id hashes (FNV-1a 64) to K-1 modulo N')
            [CompletionResult]::new('--state-file', '--state-file', [CompletionResultType]::ParameterName, 'Keep what is held in this file (JSON), so a restart serves it at once and fetches only what is missing or stale')
            [CompletionResult]::new('--remote-write', '--remote-write', [CompletionResultType]::ParameterName, 'Push every day learned to this Prometheus remote-write URL (repeatable)')
            [CompletionResult]::new('--remote-write-basic-auth-file', '--remote-write-basic-auth-file', [CompletionResultType]::ParameterName, 'File whose first line is USERNAME:PASSWORD for every remote-write URL')
            [CompletionResult]::new('--remote-write-bearer-token-file', '--remote-write-bearer-token-file', [CompletionResultType]::ParameterName, 'File whose first line is a bearer token for every remote-write URL')
            [CompletionResult]::new('--remote-write-queue-batches', '--remote-write-queue-batches', [CompletionResultType]::ParameterName, 'Remote-write batches kept per URL while it is slow or down (2000 samples each); beyond, the oldest batch is dropped')
            [CompletionResult]::new('--remote-write-batch-samples', '--remote-write-batch-samples', [CompletionResultType]::ParameterName, 'Samples per remote-write request')
            [CompletionResult]::new('--remote-write-max-backoff', '--remote-write-max-backoff', [CompletionResultType]::ParameterName, 'Longest wait between remote-write retries')
            [CompletionResult]::new('--allowances', '--allowances', [CompletionResultType]::ParameterName, 'Monthly visits per plan and per site (YAML; see deploy/allowances.example.yml). With --demo and no file, the demo''s own')
            [CompletionResult]::new('--watch-threshold', '--watch-threshold', [CompletionResultType]::ParameterName, 'A site whose projection reaches this share of its allowance is on watch (percent)')
            [CompletionResult]::new('--api-url', '--api-url', [CompletionResultType]::ParameterName, 'Base URL of the Pantheon API')
            [CompletionResult]::new('--tokens-file', '--tokens-file', [CompletionResultType]::ParameterName, 'File of machine tokens, one per line (blank lines and # comments ignored)')
            [CompletionResult]::new('--env', '--env', [CompletionResultType]::ParameterName, 'Site environment whose traffic is read')
            [CompletionResult]::new('--org-id', '--org-id', [CompletionResultType]::ParameterName, 'Only the sites of this organization (UUID)')
            [CompletionResult]::new('--site-limit', '--site-limit', [CompletionResultType]::ParameterName, 'At most this many sites in all (0 = no limit)')
            [CompletionResult]::new('--concurrency', '--concurrency', [CompletionResultType]::ParameterName, 'API requests in flight at once, across all accounts')
            [CompletionResult]::new('--max-rps', '--max-rps', [CompletionResultType]::ParameterName, 'Cap on API request starts per second (0 = no cap)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Timeout of one whole API request (e.g. 30s, 2m)')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log format on stderr')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log level or filter (error, warn, info, debug, trace, or a RUST_LOG-style filter)')
            [CompletionResult]::new('--retry-base', '--retry-base', [CompletionResultType]::ParameterName, 'First retry backoff step (tests shorten it)')
            [CompletionResult]::new('--debug', '--debug', [CompletionResultType]::ParameterName, 'Log every API request and response to stderr (secrets redacted)')
            [CompletionResult]::new('--demo', '--demo', [CompletionResultType]::ParameterName, 'Run against the built-in fake Pantheon API with demo accounts (no token needed)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'pantheon-metrics;usage' {
            [CompletionResult]::new('--allowances', '--allowances', [CompletionResultType]::ParameterName, 'Monthly visits per plan and per site (YAML; see deploy/allowances.example.yml). With --demo and no file, the demo''s own')
            [CompletionResult]::new('--watch-threshold', '--watch-threshold', [CompletionResultType]::ParameterName, 'A site whose projection reaches this share of its allowance is on watch (percent)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'format')
            [CompletionResult]::new('--fail-on', '--fail-on', [CompletionResultType]::ParameterName, 'Exit with code 4 when any site is at or past this status')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Write to this file atomically instead of stdout')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Write to this file atomically instead of stdout')
            [CompletionResult]::new('--today', '--today', [CompletionResultType]::ParameterName, 'The report''s date (YYYY-MM-DD, UTC) instead of today (tests pin it)')
            [CompletionResult]::new('--api-url', '--api-url', [CompletionResultType]::ParameterName, 'Base URL of the Pantheon API')
            [CompletionResult]::new('--tokens-file', '--tokens-file', [CompletionResultType]::ParameterName, 'File of machine tokens, one per line (blank lines and # comments ignored)')
            [CompletionResult]::new('--env', '--env', [CompletionResultType]::ParameterName, 'Site environment whose traffic is read')
            [CompletionResult]::new('--org-id', '--org-id', [CompletionResultType]::ParameterName, 'Only the sites of this organization (UUID)')
            [CompletionResult]::new('--site-limit', '--site-limit', [CompletionResultType]::ParameterName, 'At most this many sites in all (0 = no limit)')
            [CompletionResult]::new('--concurrency', '--concurrency', [CompletionResultType]::ParameterName, 'API requests in flight at once, across all accounts')
            [CompletionResult]::new('--max-rps', '--max-rps', [CompletionResultType]::ParameterName, 'Cap on API request starts per second (0 = no cap)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Timeout of one whole API request (e.g. 30s, 2m)')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log format on stderr')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log level or filter (error, warn, info, debug, trace, or a RUST_LOG-style filter)')
            [CompletionResult]::new('--retry-base', '--retry-base', [CompletionResultType]::ParameterName, 'First retry backoff step (tests shorten it)')
            [CompletionResult]::new('--debug', '--debug', [CompletionResultType]::ParameterName, 'Log every API request and response to stderr (secrets redacted)')
            [CompletionResult]::new('--demo', '--demo', [CompletionResultType]::ParameterName, 'Run against the built-in fake Pantheon API with demo accounts (no token needed)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'pantheon-metrics;completions' {
            [CompletionResult]::new('--api-url', '--api-url', [CompletionResultType]::ParameterName, 'Base URL of the Pantheon API')
            [CompletionResult]::new('--tokens-file', '--tokens-file', [CompletionResultType]::ParameterName, 'File of machine tokens, one per line (blank lines and # comments ignored)')
            [CompletionResult]::new('--env', '--env', [CompletionResultType]::ParameterName, 'Site environment whose traffic is read')
            [CompletionResult]::new('--org-id', '--org-id', [CompletionResultType]::ParameterName, 'Only the sites of this organization (UUID)')
            [CompletionResult]::new('--site-limit', '--site-limit', [CompletionResultType]::ParameterName, 'At most this many sites in all (0 = no limit)')
            [CompletionResult]::new('--concurrency', '--concurrency', [CompletionResultType]::ParameterName, 'API requests in flight at once, across all accounts')
            [CompletionResult]::new('--max-rps', '--max-rps', [CompletionResultType]::ParameterName, 'Cap on API request starts per second (0 = no cap)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Timeout of one whole API request (e.g. 30s, 2m)')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log format on stderr')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log level or filter (error, warn, info, debug, trace, or a RUST_LOG-style filter)')
            [CompletionResult]::new('--retry-base', '--retry-base', [CompletionResultType]::ParameterName, 'First retry backoff step (tests shorten it)')
            [CompletionResult]::new('--debug', '--debug', [CompletionResultType]::ParameterName, 'Log every API request and response to stderr (secrets redacted)')
            [CompletionResult]::new('--demo', '--demo', [CompletionResultType]::ParameterName, 'Run against the built-in fake Pantheon API with demo accounts (no token needed)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'pantheon-metrics;man' {
            [CompletionResult]::new('--api-url', '--api-url', [CompletionResultType]::ParameterName, 'Base URL of the Pantheon API')
            [CompletionResult]::new('--tokens-file', '--tokens-file', [CompletionResultType]::ParameterName, 'File of machine tokens, one per line (blank lines and # comments ignored)')
            [CompletionResult]::new('--env', '--env', [CompletionResultType]::ParameterName, 'Site environment whose traffic is read')
            [CompletionResult]::new('--org-id', '--org-id', [CompletionResultType]::ParameterName, 'Only the sites of this organization (UUID)')
            [CompletionResult]::new('--site-limit', '--site-limit', [CompletionResultType]::ParameterName, 'At most this many sites in all (0 = no limit)')
            [CompletionResult]::new('--concurrency', '--concurrency', [CompletionResultType]::ParameterName, 'API requests in flight at once, across all accounts')
            [CompletionResult]::new('--max-rps', '--max-rps', [CompletionResultType]::ParameterName, 'Cap on API request starts per second (0 = no cap)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Timeout of one whole API request (e.g. 30s, 2m)')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log format on stderr')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log level or filter (error, warn, info, debug, trace, or a RUST_LOG-style filter)')
            [CompletionResult]::new('--retry-base', '--retry-base', [CompletionResultType]::ParameterName, 'First retry backoff step (tests shorten it)')
            [CompletionResult]::new('--debug', '--debug', [CompletionResultType]::ParameterName, 'Log every API request and response to stderr (secrets redacted)')
            [CompletionResult]::new('--demo', '--demo', [CompletionResultType]::ParameterName, 'Run against the built-in fake Pantheon API with demo accounts (no token needed)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'pantheon-metrics;help' {
            [CompletionResult]::new('sites', 'sites', [CompletionResultType]::ParameterValue, 'List every site each machine token can see')
            [CompletionResult]::new('fetch', 'fetch', [CompletionResultType]::ParameterValue, 'Fetch daily traffic metrics for some or all sites')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Run the Prometheus exporter')
            [CompletionResult]::new('usage', 'usage', [CompletionResultType]::ParameterValue, 'Month-to-date visits of each site against its plan''s allowance, projected to the month''s end; most at risk first')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print shell completions')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Write man pages (one per command) into DIR')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'pantheon-metrics;help;sites' {
            break
        }
        'pantheon-metrics;help;fetch' {
            break
        }
        'pantheon-metrics;help;serve' {
            break
        }
        'pantheon-metrics;help;usage' {
            break
        }
        'pantheon-metrics;help;completions' {
            break
        }
        'pantheon-metrics;help;man' {
            break
        }
        'pantheon-metrics;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
