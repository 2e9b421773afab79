# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_pantheon_metrics_global_optspecs
    string join \n api-url= tokens-file= env= org-id= site-limit= concurrency= max-rps= timeout= debug demo log-format= log-level= retry-base= h/help V/version
end

function __fish_pantheon_metrics_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_pantheon_metrics_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_pantheon_metrics_using_subcommand
    set -l cmd (__fish_pantheon_metrics_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c pantheon-metrics -n "__fish_pantheon_metrics_needs_command" -l api-url -d 'Base URL of the Pantheon API' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_needs_command" -l tokens-file -d 'File of machine tokens, one per line (blank lines and # comments ignored)' -r -F
complete -c pantheon-metrics -n "__fish_pantheon_metrics_needs_command" -l env -d 'Site environment whose traffic is read' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_needs_command" -l org-id -d 'Only the sites of this organization (UUID)' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_needs_command" -l site-limit -d 'At most this many sites in all (0 = no limit)' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_needs_command" -l concurrency -d 'API requests in flight at once, across all accounts' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_needs_command" -l max-rps -d 'Cap on API request starts per second (0 = no cap)' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_needs_command" -l timeout -d 'Timeout of one whole API request (e.g. 30s, 2m)' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_needs_command" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c pantheon-metrics -n "__fish_pantheon_metrics_needs_command" -l log-level -d 'Log level or filter (error, warn, info, debug, trace, or a RUST_LOG-style filter)' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_needs_command" -l retry-base -d 'First retry backoff step (tests shorten it)' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_needs_command" -l debug -d 'Log every API request and response to stderr (secrets redacted)'
complete -c pantheon-metrics -n "__fish_pantheon_metrics_needs_command" -l demo -d 'Run against the built-in fake Pantheon API with demo accounts (no token needed)'
complete -c pantheon-metrics -n "__fish_pantheon_metrics_needs_command" -s h -l help -d 'Print help'
complete -c pantheon-metrics -n "__fish_pantheon_metrics_needs_command" -s V -l version -d 'Print version'
complete -c pantheon-metrics -n "__fish_pantheon_metrics_needs_command" -f -a "sites" -d 'List every site each machine token can see'
complete -c pantheon-metrics -n "__fish_pantheon_metrics_needs_command" -f -a "fetch" -d 'Fetch daily traffic metrics for some or all sites'
complete -c pantheon-metrics -n "__fish_pantheon_metrics_needs_command" -f -a "serve" -d 'Run the Prometheus exporter'
complete -c pantheon-metrics -n "__fish_pantheon_metrics_needs_command" -f -a "usage" -d 'Month-to-date visits of each site against its plan\'s allowance, projected to the month\'s end; most at risk first'
complete -c pantheon-metrics -n "__fish_pantheon_metrics_needs_command" -f -a "completions" -d 'Print shell completions'
complete -c pantheon-metrics -n "__fish_pantheon_metrics_needs_command" -f -a "man" -d 'Write man pages (one per command) into DIR'
complete -c pantheon-metrics -n "__fish_pantheon_metrics_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand sites" -l format -r -f -a "table\t''
json\t''"
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand sites" -l api-url -d 'Base URL of the Pantheon API' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand sites" -l tokens-file -d 'File of machine tokens, one per line (blank lines and # comments ignored)' -r -F
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand sites" -l env -d 'Site environment whose traffic is read' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand sites" -l org-id -d 'Only the sites of this organization (UUID)' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand sites" -l site-limit -d 'At most this many sites in all (0 = no limit)' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand sites" -l concurrency -d 'API requests in flight at once, across all accounts' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand sites" -l max-rps -d 'Cap on API request starts per second (0 = no cap)' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand sites" -l timeout -d 'Timeout of one whole API request (e.g. 30s, 2m)' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand sites" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand sites" -l log-level -d 'Log level or filter (error, warn, info, debug, trace, or a RUST_LOG-style filter)' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand sites" -l retry-base -d 'First retry backoff step (tests shorten it)' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand sites" -l debug -d 'Log every API request and response to stderr (secrets redacted)'
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand sites" -l demo -d 'Run against the built-in fake Pantheon API with demo accounts (no token needed)'
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand sites" -s h -l help -d 'Print help'
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand sites" -s V -l version -d 'Print version'
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand fetch" -l duration -d 'Days (Nd, 1-28), weeks (Nw, 1-12) or months (Nm, 1-12)' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand fetch" -l format -r -f -a "table\t''
json\t''
prom\t''
openmetrics\t''
csv\t'RFC 4180, one row per site and day'"
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand fetch" -s o -l output -d 'Write to this file atomically instead of stdout' -r -F
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand fetch" -l api-url -d 'Base URL of the Pantheon API' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand fetch" -l tokens-file -d 'File of machine tokens, one per line (blank lines and # comments ignored)' -r -F
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand fetch" -l env -d 'Site environment whose traffic is read' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand fetch" -l org-id -d 'Only the sites of this organization (UUID)' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand fetch" -l site-limit -d 'At most this many sites in all (0 = no limit)' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand fetch" -l concurrency -d 'API requests in flight at once, across all accounts' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand fetch" -l max-rps -d 'Cap on API request starts per second (0 = no cap)' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand fetch" -l timeout -d 'Timeout of one whole API request (e.g. 30s, 2m)' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand fetch" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand fetch" -l log-level -d 'Log level or filter (error, warn, info, debug, trace, or a RUST_LOG-style filter)' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand fetch" -l retry-base -d 'First retry backoff step (tests shorten it)' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand fetch" -l no-timestamps -d 'Only the newest day, no timestamps (for node_exporter\'s textfile collector); prom only'
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand fetch" -l debug -d 'Log every API request and response to stderr (secrets redacted)'
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand fetch" -l demo -d 'Run against the built-in fake Pantheon API with demo accounts (no token needed)'
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand fetch" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand fetch" -s V -l version -d 'Print version'
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand serve" -l listen -d 'Address to listen on' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand serve" -l port -d 'Shorthand for --listen 0.0.0.0:N' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand serve" -l refresh-interval -d 'How often site lists are re-read and each site refreshed (90s, 30m, 1h; a bare number is minutes)' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand serve" -l history -d 'Which days /metrics carries' -r -f -a "always\t'Every day held, on every scrape'
bootstrap\t'Timestamped days only for a while after they are learned or change'
off\t'Only the newest day'"
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand serve" -l history-window -d 'With --history bootstrap: how long a learned or changed day is served with its timestamp' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand serve" -l refresh-duration -d 'Traffic fetched on each refresh (daily, 1-28)' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand serve" -l web.config.file -d 'TLS and basic-auth settings, in the Prometheus exporter-toolkit format' -r -F
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand serve" -l tick -d 'Scheduler tick (tests shorten it)' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand serve" -l shard -d 'Run as shard K of N replicas: fetch and export only the sites whose id hashes (FNV-1a 64) to K-1 modulo N' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand serve" -l state-file -d 'Keep what is held in this file (JSON), so a restart serves it at once and fetches only what is missing or stale' -r -F
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand serve" -l remote-write -d 'Push every day learned to this Prometheus remote-write URL (repeatable)' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand serve" -l remote-write-basic-auth-file -d 'File whose first line is USERNAME:PASSWORD for every remote-write URL' -r -F
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand serve" -l remote-write-bearer-token-file -d 'File whose first line is a bearer token for every remote-write URL' -r -F
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand serve" -l remote-write-queue-batches -d 'Remote-write batches kept per URL while it is slow or down (2000 samples each); beyond, the oldest batch is dropped' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand serve" -l remote-write-batch-samples -d 'Samples per remote-write request' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand serve" -l remote-write-max-backoff -d 'Longest wait between remote-write retries' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand serve" -l allowances -d 'Monthly visits per plan and per site (YAML; see deploy/allowances.example.yml). With --demo and no file, the demo\'s own' -r -F
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand serve" -l watch-threshold -d 'A site whose projection reaches this share of its allowance is on watch (percent)' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand serve" -l api-url -d 'Base URL of the Pantheon API' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand serve" -l tokens-file -d 'File of machine tokens, one per line (blank lines and # comments ignored)' -r -F
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand serve" -l env -d 'Site environment whose traffic is read' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand serve" -l org-id -d 'Only the sites of this organization (UUID)' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand serve" -l site-limit -d 'At most this many sites in all (0 = no limit)' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand serve" -l concurrency -d 'API requests in flight at once, across all accounts' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand serve" -l max-rps -d 'Cap on API request starts per second (0 = no cap)' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand serve" -l timeout -d 'Timeout of one whole API request (e.g. 30s, 2m)' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand serve" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand serve" -l log-level -d 'Log level or filter (error, warn, info, debug, trace, or a RUST_LOG-style filter)' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand serve" -l retry-base -d 'First retry backoff step (tests shorten it)' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand serve" -l debug -d 'Log every API request and response to stderr (secrets redacted)'
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand serve" -l demo -d 'Run against the built-in fake Pantheon API with demo accounts (no token needed)'
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand serve" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand serve" -s V -l version -d 'Print version'
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand usage" -l allowances -d 'Monthly visits per plan and per site (YAML; see deploy/allowances.example.yml). With --demo and no file, the demo\'s own' -r -F
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand usage" -l watch-threshold -d 'A site whose projection reaches this share of its allowance is on watch (percent)' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand usage" -l format -r -f -a "table\t''
json\t''
prom\t''
csv\t'RFC 4180, one row per site'"
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand usage" -l fail-on -d 'Exit with code 4 when any site is at or past this status' -r -f -a "over\t'Month-to-date visits above the allowance'
projected-over\t'The projection above the allowance (or worse)'
watch\t'The projection at or above the watch threshold (or worse)'"
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand usage" -s o -l output -d 'Write to this file atomically instead of stdout' -r -F
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand usage" -l today -d 'The report\'s date (YYYY-MM-DD, UTC) instead of today (tests pin it)' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand usage" -l api-url -d 'Base URL of the Pantheon API' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand usage" -l tokens-file -d 'File of machine tokens, one per line (blank lines and # comments ignored)' -r -F
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand usage" -l env -d 'Site environment whose traffic is read' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand usage" -l org-id -d 'Only the sites of this organization (UUID)' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand usage" -l site-limit -d 'At most this many sites in all (0 = no limit)' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand usage" -l concurrency -d 'API requests in flight at once, across all accounts' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand usage" -l max-rps -d 'Cap on API request starts per second (0 = no cap)' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand usage" -l timeout -d 'Timeout of one whole API request (e.g. 30s, 2m)' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand usage" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand usage" -l log-level -d 'Log level or filter (error, warn, info, debug, trace, or a RUST_LOG-style filter)' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand usage" -l retry-base -d 'First retry backoff step (tests shorten it)' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand usage" -l debug -d 'Log every API request and response to stderr (secrets redacted)'
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand usage" -l demo -d 'Run against the built-in fake Pantheon API with demo accounts (no token needed)'
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand usage" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand usage" -s V -l version -d 'Print version'
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand completions" -l api-url -d 'Base URL of the Pantheon API' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand completions" -l tokens-file -d 'File of machine tokens, one per line (blank lines and # comments ignored)' -r -F
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand completions" -l env -d 'Site environment whose traffic is read' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand completions" -l org-id -d 'Only the sites of this organization (UUID)' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand completions" -l site-limit -d 'At most this many sites in all (0 = no limit)' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand completions" -l concurrency -d 'API requests in flight at once, across all accounts' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand completions" -l max-rps -d 'Cap on API request starts per second (0 = no cap)' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand completions" -l timeout -d 'Timeout of one whole API request (e.g. 30s, 2m)' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand completions" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand completions" -l log-level -d 'Log level or filter (error, warn, info, debug, trace, or a RUST_LOG-style filter)' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand completions" -l retry-base -d 'First retry backoff step (tests shorten it)' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand completions" -l debug -d 'Log every API request and response to stderr (secrets redacted)'
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand completions" -l demo -d 'Run against the built-in fake Pantheon API with demo accounts (no token needed)'
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand completions" -s h -l help -d 'Print help'
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand completions" -s V -l version -d 'Print version'
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand man" -l api-url -d 'Base URL of the Pantheon API' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand man" -l tokens-file -d 'File of machine tokens, one per line (blank lines and # comments ignored)' -r -F
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand man" -l env -d 'Site environment whose traffic is read' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand man" -l org-id -d 'Only the sites of this organization (UUID)' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand man" -l site-limit -d 'At most this many sites in all (0 = no limit)' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand man" -l concurrency -d 'API requests in flight at once, across all accounts' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand man" -l max-rps -d 'Cap on API request starts per second (0 = no cap)' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand man" -l timeout -d 'Timeout of one whole API request (e.g. 30s, 2m)' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand man" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand man" -l log-level -d 'Log level or filter (error, warn, info, debug, trace, or a RUST_LOG-style filter)' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand man" -l retry-base -d 'First retry backoff step (tests shorten it)' -r
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand man" -l debug -d 'Log every API request and response to stderr (secrets redacted)'
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand man" -l demo -d 'Run against the built-in fake Pantheon API with demo accounts (no token needed)'
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand man" -s h -l help -d 'Print help'
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand man" -s V -l version -d 'Print version'
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand help; and not __fish_seen_subcommand_from sites fetch serve usage completions man help" -f -a "sites" -d 'List every site each machine token can see'
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand help; and not __fish_seen_subcommand_from sites fetch serve usage completions man help" -f -a "fetch" -d 'Fetch daily traffic metrics for some or all sites'
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand help; and not __fish_seen_subcommand_from sites fetch serve usage completions man help" -f -a "serve" -d 'Run the Prometheus exporter'
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand help; and not __fish_seen_subcommand_from sites fetch serve usage completions man help" -f -a "usage" -d 'Month-to-date visits of each site against its plan\'s allowance, projected to the month\'s end; most at risk first'
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand help; and not __fish_seen_subcommand_from sites fetch serve usage completions man help" -f -a "completions" -d 'Print shell completions'
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand help; and not __fish_seen_subcommand_from sites fetch serve usage completions man help" -f -a "man" -d 'Write man pages (one per command) into DIR'
complete -c pantheon-metrics -n "__fish_pantheon_metrics_using_subcommand help; and not __fish_seen_subcommand_from sites fetch serve usage completions man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
