
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'dcache' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'dcache'
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
        'dcache' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Client URL of any dcache node (http:// or https://, with host and port)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for an answer (e.g. 500ms, 10s, 2m)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token sent with every request, for nodes that require client authentication (default: none)')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'CA bundle (PEM) to trust for https:// servers, in addition to the system''s roots (default: the system''s roots only)')
            [CompletionResult]::new('--endpoints', '--endpoints', [CompletionResultType]::ParameterName, 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Run a dcache node (a one-node cluster on 127.0.0.1:8080 with no flags)')
            [CompletionResult]::new('set', 'set', [CompletionResultType]::ParameterValue, 'Store VALUE under KEY')
            [CompletionResult]::new('expire', 'expire', [CompletionResultType]::ParameterValue, 'Make the existing KEY expire after DURATION, keeping its value (exit code 3 if missing)')
            [CompletionResult]::new('persist', 'persist', [CompletionResultType]::ParameterValue, 'Remove KEY''s expiry, keeping its value (exit code 3 if missing, 5 if it has none)')
            [CompletionResult]::new('ttl', 'ttl', [CompletionResultType]::ParameterValue, 'Print the time left before KEY expires (`none` without a TTL)')
            [CompletionResult]::new('watch', 'watch', [CompletionResultType]::ParameterValue, 'Stream every change under PREFIX (sets, deletes, expiries, evictions) until Ctrl-C')
            [CompletionResult]::new('get', 'get', [CompletionResultType]::ParameterValue, 'Print the value stored under KEY (exit code 3 if it is missing); with --prefix, every key starting with KEY and its value (`KEY<TAB>VALUE`, escaped as in `scan`)')
            [CompletionResult]::new('delete', 'delete', [CompletionResultType]::ParameterValue, 'Remove KEY; with --prefix, every key starting with KEY (asks first unless --yes)')
            [CompletionResult]::new('txn', 'txn', [CompletionResultType]::ParameterValue, 'Apply several sets and deletes atomically, at one version (POST /api/v1/batch)')
            [CompletionResult]::new('batch', 'batch', [CompletionResultType]::ParameterValue, 'Apply several sets and deletes atomically, at one version (POST /api/v1/batch)')
            [CompletionResult]::new('scan', 'scan', [CompletionResultType]::ParameterValue, 'List keys starting with PREFIX, in key order, with their values')
            [CompletionResult]::new('cluster', 'cluster', [CompletionResultType]::ParameterValue, 'Show and change the cluster')
            [CompletionResult]::new('dash', 'dash', [CompletionResultType]::ParameterValue, 'Live terminal dashboard: every member''s role, term, log positions, lag and keys')
            [CompletionResult]::new('bench', 'bench', [CompletionResultType]::ParameterValue, 'Load-test a cluster: closed-loop clients, live progress, then a report with throughput, latency percentiles and histogram, a per-second timeline and errors by kind')
            [CompletionResult]::new('local-cluster', 'local-cluster', [CompletionResultType]::ParameterValue, 'Start a local N-node cluster on loopback in the foreground (Ctrl-C stops it)')
            [CompletionResult]::new('backup', 'backup', [CompletionResultType]::ParameterValue, 'Back up the cache to a file, or seed a new cluster''s data dir from one (`snapshot` is the older name of this command and still works)')
            [CompletionResult]::new('snapshot', 'snapshot', [CompletionResultType]::ParameterValue, 'Back up the cache to a file, or seed a new cluster''s data dir from one (`snapshot` is the older name of this command and still works)')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'dcache;serve' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'YAML config file (see config/dcache.yaml for every key; default: none, flags and built-in defaults only)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'YAML config file (see config/dcache.yaml for every key; default: none, flags and built-in defaults only)')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log level or filter: error, warn, info, debug, trace (or e.g. `dcache=debug`) [default: info]')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'This node''s name; must appear in initial-cluster [default: node1]')
            [CompletionResult]::new('--cluster-id', '--cluster-id', [CompletionResultType]::ParameterName, 'Cluster identity; a data dir written for another cluster id is refused [default: dcache]')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Where the Raft log, vote and snapshots are kept [default: ./dcache-data]')
            [CompletionResult]::new('--listen-client-urls', '--listen-client-urls', [CompletionResultType]::ParameterName, 'URL the client API listens on [default: http://127.0.0.1:8080]')
            [CompletionResult]::new('--advertise-client-urls', '--advertise-client-urls', [CompletionResultType]::ParameterName, 'Client URL other nodes and tools should use for this node (default: the listen-client-urls URL)')
            [CompletionResult]::new('--listen-resp-urls', '--listen-resp-urls', [CompletionResultType]::ParameterName, 'URL the Redis-protocol (RESP) listener binds, `redis://HOST:PORT`; empty disables it [default: redis://127.0.0.1:6379]')
            [CompletionResult]::new('--advertise-resp-urls', '--advertise-resp-urls', [CompletionResultType]::ParameterName, 'RESP URL other nodes and tools should use for this node (default: the listen-resp-urls URL)')
            [CompletionResult]::new('--listen-peer-urls', '--listen-peer-urls', [CompletionResultType]::ParameterName, 'URL the peer (Raft) listener binds [default: http://127.0.0.1:8081]')
            [CompletionResult]::new('--initial-advertise-peer-urls', '--initial-advertise-peer-urls', [CompletionResultType]::ParameterName, 'Peer URL other nodes should use for this node (default: the listen-peer-urls URL)')
            [CompletionResult]::new('--initial-cluster', '--initial-cluster', [CompletionResultType]::ParameterName, 'Founding members: name=peer-url,... (identical on every founding node; default: this node alone, at its advertised peer URL)')
            [CompletionResult]::new('--initial-cluster-state', '--initial-cluster-state', [CompletionResultType]::ParameterName, '`new` to found the cluster in initial-cluster, `existing` to join one [default: new]')
            [CompletionResult]::new('--join', '--join', [CompletionResultType]::ParameterName, 'Client URL of a running cluster to join on first start (default: join none; found or restart the cluster in initial-cluster)')
            [CompletionResult]::new('--peer-token', '--peer-token', [CompletionResultType]::ParameterName, 'Shared secret that every peer request must carry (same on every node; >= 16 chars; default: none, peers are not authenticated by token)')
            [CompletionResult]::new('--client-cert-file', '--client-cert-file', [CompletionResultType]::ParameterName, 'Certificate (PEM) of the client listener; needs an https:// listen-client-urls')
            [CompletionResult]::new('--client-key-file', '--client-key-file', [CompletionResultType]::ParameterName, 'Private key (PEM) of the client listener')
            [CompletionResult]::new('--trusted-ca-file', '--trusted-ca-file', [CompletionResultType]::ParameterName, 'CA bundle (PEM) this node trusts when it calls a client URL over https (the join URL)')
            [CompletionResult]::new('--peer-cert-file', '--peer-cert-file', [CompletionResultType]::ParameterName, 'Certificate (PEM) this node presents to peers, as server and as client (mutual TLS)')
            [CompletionResult]::new('--peer-key-file', '--peer-key-file', [CompletionResultType]::ParameterName, 'Private key (PEM) of the peer certificate')
            [CompletionResult]::new('--peer-trusted-ca-file', '--peer-trusted-ca-file', [CompletionResultType]::ParameterName, 'CA bundle (PEM) that signs every peer certificate; peers without one are refused')
            [CompletionResult]::new('--admin-token', '--admin-token', [CompletionResultType]::ParameterName, 'Client token with admin access (repeatable): everything a read-write token may do, and membership changes (cluster join, remove, transfer-leadership)')
            [CompletionResult]::new('--auth-token', '--auth-token', [CompletionResultType]::ParameterName, 'Client token with read-write access (repeatable): reads, writes, backups; with any token set, clients must send one (default: none, the client API is open)')
            [CompletionResult]::new('--read-only-token', '--read-only-token', [CompletionResultType]::ParameterName, 'Client token with read-only access (repeatable)')
            [CompletionResult]::new('--join-token', '--join-token', [CompletionResultType]::ParameterName, 'Token this node sends when it joins a cluster whose client API requires one (an admin token: joining changes the membership)')
            [CompletionResult]::new('--max-connections', '--max-connections', [CompletionResultType]::ParameterName, 'Most connections serving requests per listener; further clients wait [default: 1024]')
            [CompletionResult]::new('--max-watchers', '--max-watchers', [CompletionResultType]::ParameterName, 'Most watch streams open at once, counted apart from max-connections (503 past it) [default: 256]')
            [CompletionResult]::new('--max-header-bytes', '--max-header-bytes', [CompletionResultType]::ParameterName, 'Largest accepted request head (request line + headers) in bytes [default: 16384]')
            [CompletionResult]::new('--header-read-timeout', '--header-read-timeout', [CompletionResultType]::ParameterName, 'How long a client may take to send a request head, e.g. 10s (cuts slow clients and idle connections) [default: 10s]')
            [CompletionResult]::new('--max-key-bytes', '--max-key-bytes', [CompletionResultType]::ParameterName, 'Longest accepted key in bytes [default: 4096]')
            [CompletionResult]::new('--max-value-bytes', '--max-value-bytes', [CompletionResultType]::ParameterName, 'Longest accepted value in bytes [default: 1048576]')
            [CompletionResult]::new('--max-memory', '--max-memory', [CompletionResultType]::ParameterName, 'Memory bound of the cache (e.g. 64MiB, 2GiB; `off` = unbounded); keys are evicted past it [default: off]')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'How long a request may wait for the cluster (e.g. 5s) [default: 5s]')
            [CompletionResult]::new('--snapshot-logs', '--snapshot-logs', [CompletionResultType]::ParameterName, 'Snapshot the cache and purge the log every this many entries [default: 10000]')
            [CompletionResult]::new('--heartbeat-interval-ms', '--heartbeat-interval-ms', [CompletionResultType]::ParameterName, 'Leader heartbeat interval in milliseconds [default: 100]')
            [CompletionResult]::new('--election-timeout-ms', '--election-timeout-ms', [CompletionResultType]::ParameterName, 'Minimum election timeout in milliseconds (the maximum is twice this) [default: 400]')
            [CompletionResult]::new('--check', '--check', [CompletionResultType]::ParameterName, 'Validate the configuration, print it, and exit without starting')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dcache;set' {
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'Read the value from this file (for values too large for an argument)')
            [CompletionResult]::new('--ttl', '--ttl', [CompletionResultType]::ParameterName, 'Expire the key after this long (e.g. 30s, 5m; at least 1ms); the leader stamps the deadline (default: the key never expires)')
            [CompletionResult]::new('--if-version', '--if-version', [CompletionResultType]::ParameterName, 'Only write if the key is at this version (compare-and-set; default: write whatever the version)')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Client URL of any dcache node (http:// or https://, with host and port)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for an answer (e.g. 500ms, 10s, 2m)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token sent with every request, for nodes that require client authentication (default: none)')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'CA bundle (PEM) to trust for https:// servers, in addition to the system''s roots (default: the system''s roots only)')
            [CompletionResult]::new('--endpoints', '--endpoints', [CompletionResultType]::ParameterName, 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)')
            [CompletionResult]::new('--if-absent', '--if-absent', [CompletionResultType]::ParameterName, 'Only write if the key does not exist')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dcache;expire' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Client URL of any dcache node (http:// or https://, with host and port)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for an answer (e.g. 500ms, 10s, 2m)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token sent with every request, for nodes that require client authentication (default: none)')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'CA bundle (PEM) to trust for https:// servers, in addition to the system''s roots (default: the system''s roots only)')
            [CompletionResult]::new('--endpoints', '--endpoints', [CompletionResultType]::ParameterName, 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dcache;persist' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Client URL of any dcache node (http:// or https://, with host and port)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for an answer (e.g. 500ms, 10s, 2m)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token sent with every request, for nodes that require client authentication (default: none)')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'CA bundle (PEM) to trust for https:// servers, in addition to the system''s roots (default: the system''s roots only)')
            [CompletionResult]::new('--endpoints', '--endpoints', [CompletionResultType]::ParameterName, 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dcache;ttl' {
            [CompletionResult]::new('--consistency', '--consistency', [CompletionResultType]::ParameterName, 'Read consistency')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Client URL of any dcache node (http:// or https://, with host and port)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for an answer (e.g. 500ms, 10s, 2m)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token sent with every request, for nodes that require client authentication (default: none)')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'CA bundle (PEM) to trust for https:// servers, in addition to the system''s roots (default: the system''s roots only)')
            [CompletionResult]::new('--endpoints', '--endpoints', [CompletionResultType]::ParameterName, 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dcache;watch' {
            [CompletionResult]::new('--from-version', '--from-version', [CompletionResultType]::ParameterName, 'Resume after this version (replays kept history first; default: only changes from now on)')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Client URL of any dcache node (http:// or https://, with host and port)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for an answer (e.g. 500ms, 10s, 2m)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token sent with every request, for nodes that require client authentication (default: none)')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'CA bundle (PEM) to trust for https:// servers, in addition to the system''s roots (default: the system''s roots only)')
            [CompletionResult]::new('--endpoints', '--endpoints', [CompletionResultType]::ParameterName, 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dcache;get' {
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'With --prefix: most keys to list in all (default: every one)')
            [CompletionResult]::new('--consistency', '--consistency', [CompletionResultType]::ParameterName, 'Read consistency')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Client URL of any dcache node (http:// or https://, with host and port)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for an answer (e.g. 500ms, 10s, 2m)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token sent with every request, for nodes that require client authentication (default: none)')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'CA bundle (PEM) to trust for https:// servers, in addition to the system''s roots (default: the system''s roots only)')
            [CompletionResult]::new('--endpoints', '--endpoints', [CompletionResultType]::ParameterName, 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)')
            [CompletionResult]::new('--prefix', '--prefix', [CompletionResultType]::ParameterName, 'Treat KEY as a prefix and list every key under it (in pages, as `scan --all`)')
            [CompletionResult]::new('--keys-only', '--keys-only', [CompletionResultType]::ParameterName, 'Print keys only, without values')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dcache;delete' {
            [CompletionResult]::new('--if-version', '--if-version', [CompletionResultType]::ParameterName, 'Only delete if the key is at this version (default: whatever the version)')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Client URL of any dcache node (http:// or https://, with host and port)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for an answer (e.g. 500ms, 10s, 2m)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token sent with every request, for nodes that require client authentication (default: none)')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'CA bundle (PEM) to trust for https:// servers, in addition to the system''s roots (default: the system''s roots only)')
            [CompletionResult]::new('--endpoints', '--endpoints', [CompletionResultType]::ParameterName, 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)')
            [CompletionResult]::new('--prefix', '--prefix', [CompletionResultType]::ParameterName, 'Treat KEY as a prefix and delete every key under it')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (needed when standard input is not a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (needed when standard input is not a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dcache;txn' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Client URL of any dcache node (http:// or https://, with host and port)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for an answer (e.g. 500ms, 10s, 2m)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token sent with every request, for nodes that require client authentication (default: none)')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'CA bundle (PEM) to trust for https:// servers, in addition to the system''s roots (default: the system''s roots only)')
            [CompletionResult]::new('--endpoints', '--endpoints', [CompletionResultType]::ParameterName, 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dcache;batch' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Client URL of any dcache node (http:// or https://, with host and port)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for an answer (e.g. 500ms, 10s, 2m)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token sent with every request, for nodes that require client authentication (default: none)')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'CA bundle (PEM) to trust for https:// servers, in addition to the system''s roots (default: the system''s roots only)')
            [CompletionResult]::new('--endpoints', '--endpoints', [CompletionResultType]::ParameterName, 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dcache;scan' {
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'Most keys to list in all (fetched in pages of up to 10000)')
            [CompletionResult]::new('--consistency', '--consistency', [CompletionResultType]::ParameterName, 'Read consistency')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Client URL of any dcache node (http:// or https://, with host and port)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for an answer (e.g. 500ms, 10s, 2m)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token sent with every request, for nodes that require client authentication (default: none)')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'CA bundle (PEM) to trust for https:// servers, in addition to the system''s roots (default: the system''s roots only)')
            [CompletionResult]::new('--endpoints', '--endpoints', [CompletionResultType]::ParameterName, 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'List every key under PREFIX, however many')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dcache;cluster' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Client URL of any dcache node (http:// or https://, with host and port)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for an answer (e.g. 500ms, 10s, 2m)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token sent with every request, for nodes that require client authentication (default: none)')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'CA bundle (PEM) to trust for https:// servers, in addition to the system''s roots (default: the system''s roots only)')
            [CompletionResult]::new('--endpoints', '--endpoints', [CompletionResultType]::ParameterName, 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Every member''s role, term, log indexes, lag and key count, asked of each member, and the quorum line (`2/3 voters up, quorum OK`). A report: exits 0 whatever it shows')
            [CompletionResult]::new('health', 'health', [CompletionResultType]::ParameterValue, 'Every member''s /health, one line each, then the quorum line; exits 6 when a member is down or unhealthy or the voters have no quorum (for scripts and probes)')
            [CompletionResult]::new('leader', 'leader', [CompletionResultType]::ParameterValue, 'The current leader')
            [CompletionResult]::new('members', 'members', [CompletionResultType]::ParameterValue, 'The members of the cluster')
            [CompletionResult]::new('transfer-leadership', 'transfer-leadership', [CompletionResultType]::ParameterValue, 'Move leadership to a member (by name or id); waits until it leads')
            [CompletionResult]::new('remove', 'remove', [CompletionResultType]::ParameterValue, 'Remove a member (by name or id) from the cluster; the removed node stops itself')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'dcache;cluster;status' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Client URL of any dcache node (http:// or https://, with host and port)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for an answer (e.g. 500ms, 10s, 2m)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token sent with every request, for nodes that require client authentication (default: none)')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'CA bundle (PEM) to trust for https:// servers, in addition to the system''s roots (default: the system''s roots only)')
            [CompletionResult]::new('--endpoints', '--endpoints', [CompletionResultType]::ParameterName, 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dcache;cluster;health' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Client URL of any dcache node (http:// or https://, with host and port)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for an answer (e.g. 500ms, 10s, 2m)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token sent with every request, for nodes that require client authentication (default: none)')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'CA bundle (PEM) to trust for https:// servers, in addition to the system''s roots (default: the system''s roots only)')
            [CompletionResult]::new('--endpoints', '--endpoints', [CompletionResultType]::ParameterName, 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dcache;cluster;leader' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Client URL of any dcache node (http:// or https://, with host and port)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for an answer (e.g. 500ms, 10s, 2m)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token sent with every request, for nodes that require client authentication (default: none)')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'CA bundle (PEM) to trust for https:// servers, in addition to the system''s roots (default: the system''s roots only)')
            [CompletionResult]::new('--endpoints', '--endpoints', [CompletionResultType]::ParameterName, 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dcache;cluster;members' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Client URL of any dcache node (http:// or https://, with host and port)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for an answer (e.g. 500ms, 10s, 2m)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token sent with every request, for nodes that require client authentication (default: none)')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'CA bundle (PEM) to trust for https:// servers, in addition to the system''s roots (default: the system''s roots only)')
            [CompletionResult]::new('--endpoints', '--endpoints', [CompletionResultType]::ParameterName, 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dcache;cluster;transfer-leadership' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Client URL of any dcache node (http:// or https://, with host and port)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for an answer (e.g. 500ms, 10s, 2m)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token sent with every request, for nodes that require client authentication (default: none)')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'CA bundle (PEM) to trust for https:// servers, in addition to the system''s roots (default: the system''s roots only)')
            [CompletionResult]::new('--endpoints', '--endpoints', [CompletionResultType]::ParameterName, 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dcache;cluster;remove' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Client URL of any dcache node (http:// or https://, with host and port)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for an answer (e.g. 500ms, 10s, 2m)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token sent with every request, for nodes that require client authentication (default: none)')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'CA bundle (PEM) to trust for https:// servers, in addition to the system''s roots (default: the system''s roots only)')
            [CompletionResult]::new('--endpoints', '--endpoints', [CompletionResultType]::ParameterName, 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dcache;cluster;help' {
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Every member''s role, term, log indexes, lag and key count, asked of each member, and the quorum line (`2/3 voters up, quorum OK`). A report: exits 0 whatever it shows')
            [CompletionResult]::new('health', 'health', [CompletionResultType]::ParameterValue, 'Every member''s /health, one line each, then the quorum line; exits 6 when a member is down or unhealthy or the voters have no quorum (for scripts and probes)')
            [CompletionResult]::new('leader', 'leader', [CompletionResultType]::ParameterValue, 'The current leader')
            [CompletionResult]::new('members', 'members', [CompletionResultType]::ParameterValue, 'The members of the cluster')
            [CompletionResult]::new('transfer-leadership', 'transfer-leadership', [CompletionResultType]::ParameterValue, 'Move leadership to a member (by name or id); waits until it leads')
            [CompletionResult]::new('remove', 'remove', [CompletionResultType]::ParameterValue, 'Remove a member (by name or id) from the cluster; the removed node stops itself')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'dcache;cluster;help;status' {
            break
        }
        'dcache;cluster;help;health' {
            break
        }
        'dcache;cluster;help;leader' {
            break
        }
        'dcache;cluster;help;members' {
            break
        }
        'dcache;cluster;help;transfer-leadership' {
            break
        }
        'dcache;cluster;help;remove' {
            break
        }
        'dcache;cluster;help;help' {
            break
        }
        'dcache;dash' {
            [CompletionResult]::new('--interval', '--interval', [CompletionResultType]::ParameterName, 'How often every node is polled (e.g. 250ms, 1s, 5s; at least 50ms)')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Client URL of any dcache node (http:// or https://, with host and port)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for an answer (e.g. 500ms, 10s, 2m)')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token sent with every request, for nodes that require client authentication (default: none)')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'CA bundle (PEM) to trust for https:// servers, in addition to the system''s roots (default: the system''s roots only)')
            [CompletionResult]::new('--endpoints', '--endpoints', [CompletionResultType]::ParameterName, 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dcache;bench' {
            [CompletionResult]::new('--clients', '--clients', [CompletionResultType]::ParameterName, 'Concurrent clients, each with one request in flight (at least 1)')
            [CompletionResult]::new('--duration', '--duration', [CompletionResultType]::ParameterName, 'How long to run (e.g. 10s); ignored with --requests')
            [CompletionResult]::new('--requests', '--requests', [CompletionResultType]::ParameterName, 'Stop after this many requests instead of after --duration (default: run for --duration)')
            [CompletionResult]::new('--workload', '--workload', [CompletionResultType]::ParameterName, 'What to send')
            [CompletionResult]::new('--read-ratio', '--read-ratio', [CompletionResultType]::ParameterName, 'Fraction of gets in the mixed workload (0 to 1)')
            [CompletionResult]::new('--key-space', '--key-space', [CompletionResultType]::ParameterName, 'Number of distinct keys (at least 1)')
            [CompletionResult]::new('--key-prefix', '--key-prefix', [CompletionResultType]::ParameterName, 'Text in front of every key the run writes or reads: keys are PREFIX00000000, PREFIX00000001, ... up to --key-space (any text; pick one no application uses)')
            [CompletionResult]::new('--value-size', '--value-size', [CompletionResultType]::ParameterName, 'Value size in bytes')
            [CompletionResult]::new('--consistency', '--consistency', [CompletionResultType]::ParameterName, 'Consistency of the gets')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Client URL of any dcache node (http:// or https://, with host and port)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for an answer (e.g. 500ms, 10s, 2m)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token sent with every request, for nodes that require client authentication (default: none)')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'CA bundle (PEM) to trust for https:// servers, in addition to the system''s roots (default: the system''s roots only)')
            [CompletionResult]::new('--endpoints', '--endpoints', [CompletionResultType]::ParameterName, 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)')
            [CompletionResult]::new('--no-prefill', '--no-prefill', [CompletionResultType]::ParameterName, 'Skip writing the key space before a get or mixed run')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dcache;local-cluster' {
            [CompletionResult]::new('--nodes', '--nodes', [CompletionResultType]::ParameterName, 'How many nodes (1-9)')
            [CompletionResult]::new('--base-port', '--base-port', [CompletionResultType]::ParameterName, 'Client port of node1; node K uses base+2(K-1) for clients, the next port for peers and base+1000+(K-1) for the Redis protocol')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Where the nodes keep their data and logs')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dcache;backup' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Client URL of any dcache node (http:// or https://, with host and port)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for an answer (e.g. 500ms, 10s, 2m)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token sent with every request, for nodes that require client authentication (default: none)')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'CA bundle (PEM) to trust for https:// servers, in addition to the system''s roots (default: the system''s roots only)')
            [CompletionResult]::new('--endpoints', '--endpoints', [CompletionResultType]::ParameterName, 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('save', 'save', [CompletionResultType]::ParameterValue, 'Download a consistent backup from the leader into FILE (every write acknowledged before the command started is in it)')
            [CompletionResult]::new('restore', 'restore', [CompletionResultType]::ParameterValue, 'Seed the empty data dir of one node of a new cluster from FILE. Give the node''s configuration as for `dcache serve` (--config, or --name, --data-dir, --initial-cluster, ...); run it for every founding node with the same FILE, then start them')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'dcache;snapshot' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Client URL of any dcache node (http:// or https://, with host and port)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for an answer (e.g. 500ms, 10s, 2m)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token sent with every request, for nodes that require client authentication (default: none)')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'CA bundle (PEM) to trust for https:// servers, in addition to the system''s roots (default: the system''s roots only)')
            [CompletionResult]::new('--endpoints', '--endpoints', [CompletionResultType]::ParameterName, 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('save', 'save', [CompletionResultType]::ParameterValue, 'Download a consistent backup from the leader into FILE (every write acknowledged before the command started is in it)')
            [CompletionResult]::new('restore', 'restore', [CompletionResultType]::ParameterValue, 'Seed the empty data dir of one node of a new cluster from FILE. Give the node''s configuration as for `dcache serve` (--config, or --name, --data-dir, --initial-cluster, ...); run it for every founding node with the same FILE, then start them')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'dcache;backup;save' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Client URL of any dcache node (http:// or https://, with host and port)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for an answer (e.g. 500ms, 10s, 2m)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token sent with every request, for nodes that require client authentication (default: none)')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'CA bundle (PEM) to trust for https:// servers, in addition to the system''s roots (default: the system''s roots only)')
            [CompletionResult]::new('--endpoints', '--endpoints', [CompletionResultType]::ParameterName, 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dcache;snapshot;save' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Client URL of any dcache node (http:// or https://, with host and port)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for an answer (e.g. 500ms, 10s, 2m)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token sent with every request, for nodes that require client authentication (default: none)')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'CA bundle (PEM) to trust for https:// servers, in addition to the system''s roots (default: the system''s roots only)')
            [CompletionResult]::new('--endpoints', '--endpoints', [CompletionResultType]::ParameterName, 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dcache;backup;restore' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format of the summary')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format of the summary')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'YAML config file (see config/dcache.yaml for every key; default: none, flags and built-in defaults only)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'YAML config file (see config/dcache.yaml for every key; default: none, flags and built-in defaults only)')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log level or filter: error, warn, info, debug, trace (or e.g. `dcache=debug`) [default: info]')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'This node''s name; must appear in initial-cluster [default: node1]')
            [CompletionResult]::new('--cluster-id', '--cluster-id', [CompletionResultType]::ParameterName, 'Cluster identity; a data dir written for another cluster id is refused [default: dcache]')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Where the Raft log, vote and snapshots are kept [default: ./dcache-data]')
            [CompletionResult]::new('--listen-client-urls', '--listen-client-urls', [CompletionResultType]::ParameterName, 'URL the client API listens on [default: http://127.0.0.1:8080]')
            [CompletionResult]::new('--advertise-client-urls', '--advertise-client-urls', [CompletionResultType]::ParameterName, 'Client URL other nodes and tools should use for this node (default: the listen-client-urls URL)')
            [CompletionResult]::new('--listen-resp-urls', '--listen-resp-urls', [CompletionResultType]::ParameterName, 'URL the Redis-protocol (RESP) listener binds, `redis://HOST:PORT`; empty disables it [default: redis://127.0.0.1:6379]')
            [CompletionResult]::new('--advertise-resp-urls', '--advertise-resp-urls', [CompletionResultType]::ParameterName, 'RESP URL other nodes and tools should use for this node (default: the listen-resp-urls URL)')
            [CompletionResult]::new('--listen-peer-urls', '--listen-peer-urls', [CompletionResultType]::ParameterName, 'URL the peer (Raft) listener binds [default: http://127.0.0.1:8081]')
            [CompletionResult]::new('--initial-advertise-peer-urls', '--initial-advertise-peer-urls', [CompletionResultType]::ParameterName, 'Peer URL other nodes should use for this node (default: the listen-peer-urls URL)')
            [CompletionResult]::new('--initial-cluster', '--initial-cluster', [CompletionResultType]::ParameterName, 'Founding members: name=peer-url,... (identical on every founding node; default: this node alone, at its advertised peer URL)')
            [CompletionResult]::new('--initial-cluster-state', '--initial-cluster-state', [CompletionResultType]::ParameterName, '`new` to found the cluster in initial-cluster, `existing` to join one [default: new]')
            [CompletionResult]::new('--join', '--join', [CompletionResultType]::ParameterName, 'Client URL of a running cluster to join on first start (default: join none; found or restart the cluster in initial-cluster)')
            [CompletionResult]::new('--peer-token', '--peer-token', [CompletionResultType]::ParameterName, 'Shared secret that every peer request must carry (same on every node; >= 16 chars; default: none, peers are not authenticated by token)')
            [CompletionResult]::new('--client-cert-file', '--client-cert-file', [CompletionResultType]::ParameterName, 'Certificate (PEM) of the client listener; needs an https:// listen-client-urls')
            [CompletionResult]::new('--client-key-file', '--client-key-file', [CompletionResultType]::ParameterName, 'Private key (PEM) of the client listener')
            [CompletionResult]::new('--trusted-ca-file', '--trusted-ca-file', [CompletionResultType]::ParameterName, 'CA bundle (PEM) this node trusts when it calls a client URL over https (the join URL)')
            [CompletionResult]::new('--peer-cert-file', '--peer-cert-file', [CompletionResultType]::ParameterName, 'Certificate (PEM) this node presents to peers, as server and as client (mutual TLS)')
            [CompletionResult]::new('--peer-key-file', '--peer-key-file', [CompletionResultType]::ParameterName, 'Private key (PEM) of the peer certificate')
            [CompletionResult]::new('--peer-trusted-ca-file', '--peer-trusted-ca-file', [CompletionResultType]::ParameterName, 'CA bundle (PEM) that signs every peer certificate; peers without one are refused')
            [CompletionResult]::new('--admin-token', '--admin-token', [CompletionResultType]::ParameterName, 'Client token with admin access (repeatable): everything a read-write token may do, and membership changes (cluster join, remove, transfer-leadership)')
            [CompletionResult]::new('--auth-token', '--auth-token', [CompletionResultType]::ParameterName, 'Client token with read-write access (repeatable): reads, writes, backups; with any token set, clients must send one (default: none, the client API is open)')
            [CompletionResult]::new('--read-only-token', '--read-only-token', [CompletionResultType]::ParameterName, 'Client token with read-only access (repeatable)')
            [CompletionResult]::new('--join-token', '--join-token', [CompletionResultType]::ParameterName, 'Token this node sends when it joins a cluster whose client API requires one (an admin token: joining changes the membership)')
            [CompletionResult]::new('--max-connections', '--max-connections', [CompletionResultType]::ParameterName, 'Most connections serving requests per listener; further clients wait [default: 1024]')
            [CompletionResult]::new('--max-watchers', '--max-watchers', [CompletionResultType]::ParameterName, 'Most watch streams open at once, counted apart from max-connections (503 past it) [default: 256]')
            [CompletionResult]::new('--max-header-bytes', '--max-header-bytes', [CompletionResultType]::ParameterName, 'Largest accepted request head (request line + headers) in bytes [default: 16384]')
            [CompletionResult]::new('--header-read-timeout', '--header-read-timeout', [CompletionResultType]::ParameterName, 'How long a client may take to send a request head, e.g. 10s (cuts slow clients and idle connections) [default: 10s]')
            [CompletionResult]::new('--max-key-bytes', '--max-key-bytes', [CompletionResultType]::ParameterName, 'Longest accepted key in bytes [default: 4096]')
            [CompletionResult]::new('--max-value-bytes', '--max-value-bytes', [CompletionResultType]::ParameterName, 'Longest accepted value in bytes [default: 1048576]')
            [CompletionResult]::new('--max-memory', '--max-memory', [CompletionResultType]::ParameterName, 'Memory bound of the cache (e.g. 64MiB, 2GiB; `off` = unbounded); keys are evicted past it [default: off]')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'How long a request may wait for the cluster (e.g. 5s) [default: 5s]')
            [CompletionResult]::new('--snapshot-logs', '--snapshot-logs', [CompletionResultType]::ParameterName, 'Snapshot the cache and purge the log every this many entries [default: 10000]')
            [CompletionResult]::new('--heartbeat-interval-ms', '--heartbeat-interval-ms', [CompletionResultType]::ParameterName, 'Leader heartbeat interval in milliseconds [default: 100]')
            [CompletionResult]::new('--election-timeout-ms', '--election-timeout-ms', [CompletionResultType]::ParameterName, 'Minimum election timeout in milliseconds (the maximum is twice this) [default: 400]')
            [CompletionResult]::new('--check', '--check', [CompletionResultType]::ParameterName, 'Validate the configuration, print it, and exit without starting')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dcache;snapshot;restore' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format of the summary')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format of the summary')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'YAML config file (see config/dcache.yaml for every key; default: none, flags and built-in defaults only)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'YAML config file (see config/dcache.yaml for every key; default: none, flags and built-in defaults only)')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log level or filter: error, warn, info, debug, trace (or e.g. `dcache=debug`) [default: info]')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'This node''s name; must appear in initial-cluster [default: node1]')
            [CompletionResult]::new('--cluster-id', '--cluster-id', [CompletionResultType]::ParameterName, 'Cluster identity; a data dir written for another cluster id is refused [default: dcache]')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Where the Raft log, vote and snapshots are kept [default: ./dcache-data]')
            [CompletionResult]::new('--listen-client-urls', '--listen-client-urls', [CompletionResultType]::ParameterName, 'URL the client API listens on [default: http://127.0.0.1:8080]')
            [CompletionResult]::new('--advertise-client-urls', '--advertise-client-urls', [CompletionResultType]::ParameterName, 'Client URL other nodes and tools should use for this node (default: the listen-client-urls URL)')
            [CompletionResult]::new('--listen-resp-urls', '--listen-resp-urls', [CompletionResultType]::ParameterName, 'URL the Redis-protocol (RESP) listener binds, `redis://HOST:PORT`; empty disables it [default: redis://127.0.0.1:6379]')
            [CompletionResult]::new('--advertise-resp-urls', '--advertise-resp-urls', [CompletionResultType]::ParameterName, 'RESP URL other nodes and tools should use for this node (default: the listen-resp-urls URL)')
            [CompletionResult]::new('--listen-peer-urls', '--listen-peer-urls', [CompletionResultType]::ParameterName, 'URL the peer (Raft) listener binds [default: http://127.0.0.1:8081]')
            [CompletionResult]::new('--initial-advertise-peer-urls', '--initial-advertise-peer-urls', [CompletionResultType]::ParameterName, 'Peer URL other nodes should use for this node (default: the listen-peer-urls URL)')
            [CompletionResult]::new('--initial-cluster', '--initial-cluster', [CompletionResultType]::ParameterName, 'Founding members: name=peer-url,... (identical on every founding node; default: this node alone, at its advertised peer URL)')
            [CompletionResult]::new('--initial-cluster-state', '--initial-cluster-state', [CompletionResultType]::ParameterName, '`new` to found the cluster in initial-cluster, `existing` to join one [default: new]')
            [CompletionResult]::new('--join', '--join', [CompletionResultType]::ParameterName, 'Client URL of a running cluster to join on first start (default: join none; found or restart the cluster in initial-cluster)')
            [CompletionResult]::new('--peer-token', '--peer-token', [CompletionResultType]::ParameterName, 'Shared secret that every peer request must carry (same on every node; >= 16 chars; default: none, peers are not authenticated by token)')
            [CompletionResult]::new('--client-cert-file', '--client-cert-file', [CompletionResultType]::ParameterName, 'Certificate (PEM) of the client listener; needs an https:// listen-client-urls')
            [CompletionResult]::new('--client-key-file', '--client-key-file', [CompletionResultType]::ParameterName, 'Private key (PEM) of the client listener')
            [CompletionResult]::new('--trusted-ca-file', '--trusted-ca-file', [CompletionResultType]::ParameterName, 'CA bundle (PEM) this node trusts when it calls a client URL over https (the join URL)')
            [CompletionResult]::new('--peer-cert-file', '--peer-cert-file', [CompletionResultType]::ParameterName, 'Certificate (PEM) this node presents to peers, as server and as client (mutual TLS)')
            [CompletionResult]::new('--peer-key-file', '--peer-key-file', [CompletionResultType]::ParameterName, 'Private key (PEM) of the peer certificate')
            [CompletionResult]::new('--peer-trusted-ca-file', '--peer-trusted-ca-file', [CompletionResultType]::ParameterName, 'CA bundle (PEM) that signs every peer certificate; peers without one are refused')
            [CompletionResult]::new('--admin-token', '--admin-token', [CompletionResultType]::ParameterName, 'Client token with admin access (repeatable): everything a read-write token may do, and membership changes (cluster join, remove, transfer-leadership)')
            [CompletionResult]::new('--auth-token', '--auth-token', [CompletionResultType]::ParameterName, 'Client token with read-write access (repeatable): reads, writes, backups; with any token set, clients must send one (default: none, the client API is open)')
            [CompletionResult]::new('--read-only-token', '--read-only-token', [CompletionResultType]::ParameterName, 'Client token with read-only access (repeatable)')
            [CompletionResult]::new('--join-token', '--join-token', [CompletionResultType]::ParameterName, 'Token this node sends when it joins a cluster whose client API requires one (an admin token: joining changes the membership)')
            [CompletionResult]::new('--max-connections', '--max-connections', [CompletionResultType]::ParameterName, 'Most connections serving requests per listener; further clients wait [default: 1024]')
            [CompletionResult]::new('--max-watchers', '--max-watchers', [CompletionResultType]::ParameterName, 'Most watch streams open at once, counted apart from max-connections (503 past it) [default: 256]')
            [CompletionResult]::new('--max-header-bytes', '--max-header-bytes', [CompletionResultType]::ParameterName, 'Largest accepted request head (request line + headers) in bytes [default: 16384]')
            [CompletionResult]::new('--header-read-timeout', '--header-read-timeout', [CompletionResultType]::ParameterName, 'How long a client may take to send a request head, e.g. 10s (cuts slow clients and idle connections) [default: 10s]')
            [CompletionResult]::new('--max-key-bytes', '--max-key-bytes', [CompletionResultType]::ParameterName, 'Longest accepted key in bytes [default: 4096]')
            [CompletionResult]::new('--max-value-bytes', '--max-value-bytes', [CompletionResultType]::ParameterName, 'Longest accepted value in bytes [default: 1048576]')
            [CompletionResult]::new('--max-memory', '--max-memory', [CompletionResultType]::ParameterName, 'Memory bound of the cache (e.g. 64MiB, 2GiB; `off` = unbounded); keys are evicted past it [default: off]')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'How long a request may wait for the cluster (e.g. 5s) [default: 5s]')
            [CompletionResult]::new('--snapshot-logs', '--snapshot-logs', [CompletionResultType]::ParameterName, 'Snapshot the cache and purge the log every this many entries [default: 10000]')
            [CompletionResult]::new('--heartbeat-interval-ms', '--heartbeat-interval-ms', [CompletionResultType]::ParameterName, 'Leader heartbeat interval in milliseconds [default: 100]')
            [CompletionResult]::new('--election-timeout-ms', '--election-timeout-ms', [CompletionResultType]::ParameterName, 'Minimum election timeout in milliseconds (the maximum is twice this) [default: 400]')
            [CompletionResult]::new('--check', '--check', [CompletionResultType]::ParameterName, 'Validate the configuration, print it, and exit without starting')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dcache;backup;help' {
            [CompletionResult]::new('save', 'save', [CompletionResultType]::ParameterValue, 'Download a consistent backup from the leader into FILE (every write acknowledged before the command started is in it)')
            [CompletionResult]::new('restore', 'restore', [CompletionResultType]::ParameterValue, 'Seed the empty data dir of one node of a new cluster from FILE. Give the node''s configuration as for `dcache serve` (--config, or --name, --data-dir, --initial-cluster, ...); run it for every founding node with the same FILE, then start them')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'dcache;backup;help;save' {
            break
        }
        'dcache;backup;help;restore' {
            break
        }
        'dcache;backup;help;help' {
            break
        }
        'dcache;snapshot;help' {
            [CompletionResult]::new('save', 'save', [CompletionResultType]::ParameterValue, 'Download a consistent backup from the leader into FILE (every write acknowledged before the command started is in it)')
            [CompletionResult]::new('restore', 'restore', [CompletionResultType]::ParameterValue, 'Seed the empty data dir of one node of a new cluster from FILE. Give the node''s configuration as for `dcache serve` (--config, or --name, --data-dir, --initial-cluster, ...); run it for every founding node with the same FILE, then start them')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'dcache;snapshot;help;save' {
            break
        }
        'dcache;snapshot;help;restore' {
            break
        }
        'dcache;snapshot;help;help' {
            break
        }
        'dcache;completions' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dcache;help' {
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Run a dcache node (a one-node cluster on 127.0.0.1:8080 with no flags)')
            [CompletionResult]::new('set', 'set', [CompletionResultType]::ParameterValue, 'Store VALUE under KEY')
            [CompletionResult]::new('expire', 'expire', [CompletionResultType]::ParameterValue, 'Make the existing KEY expire after DURATION, keeping its value (exit code 3 if missing)')
            [CompletionResult]::new('persist', 'persist', [CompletionResultType]::ParameterValue, 'Remove KEY''s expiry, keeping its value (exit code 3 if missing, 5 if it has none)')
            [CompletionResult]::new('ttl', 'ttl', [CompletionResultType]::ParameterValue, 'Print the time left before KEY expires (`none` without a TTL)')
            [CompletionResult]::new('watch', 'watch', [CompletionResultType]::ParameterValue, 'Stream every change under PREFIX (sets, deletes, expiries, evictions) until Ctrl-C')
            [CompletionResult]::new('get', 'get', [CompletionResultType]::ParameterValue, 'Print the value stored under KEY (exit code 3 if it is missing); with --prefix, every key starting with KEY and its value (`KEY<TAB>VALUE`, escaped as in `scan`)')
            [CompletionResult]::new('delete', 'delete', [CompletionResultType]::ParameterValue, 'Remove KEY; with --prefix, every key starting with KEY (asks first unless --yes)')
            [CompletionResult]::new('txn', 'txn', [CompletionResultType]::ParameterValue, 'Apply several sets and deletes atomically, at one version (POST /api/v1/batch)')
            [CompletionResult]::new('scan', 'scan', [CompletionResultType]::ParameterValue, 'List keys starting with PREFIX, in key order, with their values')
            [CompletionResult]::new('cluster', 'cluster', [CompletionResultType]::ParameterValue, 'Show and change the cluster')
            [CompletionResult]::new('dash', 'dash', [CompletionResultType]::ParameterValue, 'Live terminal dashboard: every member''s role, term, log positions, lag and keys')
            [CompletionResult]::new('bench', 'bench', [CompletionResultType]::ParameterValue, 'Load-test a cluster: closed-loop clients, live progress, then a report with throughput, latency percentiles and histogram, a per-second timeline and errors by kind')
            [CompletionResult]::new('local-cluster', 'local-cluster', [CompletionResultType]::ParameterValue, 'Start a local N-node cluster on loopback in the foreground (Ctrl-C stops it)')
            [CompletionResult]::new('backup', 'backup', [CompletionResultType]::ParameterValue, 'Back up the cache to a file, or seed a new cluster''s data dir from one (`snapshot` is the older name of this command and still works)')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'dcache;help;serve' {
            break
        }
        'dcache;help;set' {
            break
        }
        'dcache;help;expire' {
            break
        }
        'dcache;help;persist' {
            break
        }
        'dcache;help;ttl' {
            break
        }
        'dcache;help;watch' {
            break
        }
        'dcache;help;get' {
            break
        }
        'dcache;help;delete' {
            break
        }
        'dcache;help;txn' {
            break
        }
        'dcache;help;scan' {
            break
        }
        'dcache;help;cluster' {
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Every member''s role, term, log indexes, lag and key count, asked of each member, and the quorum line (`2/3 voters up, quorum OK`). A report: exits 0 whatever it shows')
            [CompletionResult]::new('health', 'health', [CompletionResultType]::ParameterValue, 'Every member''s /health, one line each, then the quorum line; exits 6 when a member is down or unhealthy or the voters have no quorum (for scripts and probes)')
            [CompletionResult]::new('leader', 'leader', [CompletionResultType]::ParameterValue, 'The current leader')
            [CompletionResult]::new('members', 'members', [CompletionResultType]::ParameterValue, 'The members of the cluster')
            [CompletionResult]::new('transfer-leadership', 'transfer-leadership', [CompletionResultType]::ParameterValue, 'Move leadership to a member (by name or id); waits until it leads')
            [CompletionResult]::new('remove', 'remove', [CompletionResultType]::ParameterValue, 'Remove a member (by name or id) from the cluster; the removed node stops itself')
            break
        }
        'dcache;help;cluster;status' {
            break
        }
        'dcache;help;cluster;health' {
            break
        }
        'dcache;help;cluster;leader' {
            break
        }
        'dcache;help;cluster;members' {
            break
        }
        'dcache;help;cluster;transfer-leadership' {
            break
        }
        'dcache;help;cluster;remove' {
            break
        }
        'dcache;help;dash' {
            break
        }
        'dcache;help;bench' {
            break
        }
        'dcache;help;local-cluster' {
            break
        }
        'dcache;help;backup' {
            [CompletionResult]::new('save', 'save', [CompletionResultType]::ParameterValue, 'Download a consistent backup from the leader into FILE (every write acknowledged before the command started is in it)')
            [CompletionResult]::new('restore', 'restore', [CompletionResultType]::ParameterValue, 'Seed the empty data dir of one node of a new cluster from FILE. Give the node''s configuration as for `dcache serve` (--config, or --name, --data-dir, --initial-cluster, ...); run it for every founding node with the same FILE, then start them')
            break
        }
        'dcache;help;backup;save' {
            break
        }
        'dcache;help;backup;restore' {
            break
        }
        'dcache;help;completions' {
            break
        }
        'dcache;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
