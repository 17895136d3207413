# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_dcache_global_optspecs
    string join \n server= timeout= o/output= token= cacert= endpoints= h/help V/version
end

function __fish_dcache_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_dcache_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_dcache_using_subcommand
    set -l cmd (__fish_dcache_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c dcache -n "__fish_dcache_needs_command" -l server -d 'Client URL of any dcache node (http:// or https://, with host and port)' -r
complete -c dcache -n "__fish_dcache_needs_command" -l timeout -d 'How long to wait for an answer (e.g. 500ms, 10s, 2m)' -r
complete -c dcache -n "__fish_dcache_needs_command" -s o -l output -d 'Output format' -r -f -a "text\t'Plain text for people'
json\t'JSON for scripts: the `data` object of the server\'s answer'"
complete -c dcache -n "__fish_dcache_needs_command" -l token -d 'Bearer token sent with every request, for nodes that require client authentication (default: none)' -r
complete -c dcache -n "__fish_dcache_needs_command" -l cacert -d 'CA bundle (PEM) to trust for https:// servers, in addition to the system\'s roots (default: the system\'s roots only)' -r -F
complete -c dcache -n "__fish_dcache_needs_command" -l endpoints -d 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)' -r
complete -c dcache -n "__fish_dcache_needs_command" -s h -l help -d 'Print help'
complete -c dcache -n "__fish_dcache_needs_command" -s V -l version -d 'Print version'
complete -c dcache -n "__fish_dcache_needs_command" -f -a "serve" -d 'Run a dcache node (a one-node cluster on 127.0.0.1:8080 with no flags)'
complete -c dcache -n "__fish_dcache_needs_command" -f -a "set" -d 'Store VALUE under KEY'
complete -c dcache -n "__fish_dcache_needs_command" -f -a "expire" -d 'Make the existing KEY expire after DURATION, keeping its value (exit code 3 if missing)'
complete -c dcache -n "__fish_dcache_needs_command" -f -a "persist" -d 'Remove KEY\'s expiry, keeping its value (exit code 3 if missing, 5 if it has none)'
complete -c dcache -n "__fish_dcache_needs_command" -f -a "ttl" -d 'Print the time left before KEY expires (`none` without a TTL)'
complete -c dcache -n "__fish_dcache_needs_command" -f -a "watch" -d 'Stream every change under PREFIX (sets, deletes, expiries, evictions) until Ctrl-C'
complete -c dcache -n "__fish_dcache_needs_command" -f -a "get" -d 'Print the value stored under KEY (exit code 3 if it is missing); with --prefix, every key starting with KEY and its value (`KEY<TAB>VALUE`, escaped as in `scan`)'
complete -c dcache -n "__fish_dcache_needs_command" -f -a "delete" -d 'Remove KEY; with --prefix, every key starting with KEY (asks first unless --yes)'
complete -c dcache -n "__fish_dcache_needs_command" -f -a "txn" -d 'Apply several sets and deletes atomically, at one version (POST /api/v1/batch)'
complete -c dcache -n "__fish_dcache_needs_command" -f -a "batch" -d 'Apply several sets and deletes atomically, at one version (POST /api/v1/batch)'
complete -c dcache -n "__fish_dcache_needs_command" -f -a "scan" -d 'List keys starting with PREFIX, in key order, with their values'
complete -c dcache -n "__fish_dcache_needs_command" -f -a "cluster" -d 'Show and change the cluster'
complete -c dcache -n "__fish_dcache_needs_command" -f -a "dash" -d 'Live terminal dashboard: every member\'s role, term, log positions, lag and keys'
complete -c dcache -n "__fish_dcache_needs_command" -f -a "bench" -d 'Load-test a cluster: closed-loop clients, live progress, then a report with throughput, latency percentiles and histogram, a per-second timeline and errors by kind'
complete -c dcache -n "__fish_dcache_needs_command" -f -a "local-cluster" -d 'Start a local N-node cluster on loopback in the foreground (Ctrl-C stops it)'
complete -c dcache -n "__fish_dcache_needs_command" -f -a "backup" -d 'Back up the cache to a file, or seed a new cluster\'s data dir from one (`snapshot` is the older name of this command and still works)'
complete -c dcache -n "__fish_dcache_needs_command" -f -a "snapshot" -d 'Back up the cache to a file, or seed a new cluster\'s data dir from one (`snapshot` is the older name of this command and still works)'
complete -c dcache -n "__fish_dcache_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c dcache -n "__fish_dcache_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c dcache -n "__fish_dcache_using_subcommand serve" -s c -l config -d 'YAML config file (see config/dcache.yaml for every key; default: none, flags and built-in defaults only)' -r -F
complete -c dcache -n "__fish_dcache_using_subcommand serve" -l log-level -d 'Log level or filter: error, warn, info, debug, trace (or e.g. `dcache=debug`) [default: info]' -r
complete -c dcache -n "__fish_dcache_using_subcommand serve" -l name -d 'This node\'s name; must appear in initial-cluster [default: node1]' -r
complete -c dcache -n "__fish_dcache_using_subcommand serve" -l cluster-id -d 'Cluster identity; a data dir written for another cluster id is refused [default: dcache]' -r
complete -c dcache -n "__fish_dcache_using_subcommand serve" -l data-dir -d 'Where the Raft log, vote and snapshots are kept [default: ./dcache-data]' -r -F
complete -c dcache -n "__fish_dcache_using_subcommand serve" -l listen-client-urls -d 'URL the client API listens on [default: http://127.0.0.1:8080]' -r
complete -c dcache -n "__fish_dcache_using_subcommand serve" -l advertise-client-urls -d 'Client URL other nodes and tools should use for this node (default: the listen-client-urls URL)' -r
complete -c dcache -n "__fish_dcache_using_subcommand serve" -l listen-resp-urls -d 'URL the Redis-protocol (RESP) listener binds, `redis://HOST:PORT`; empty disables it [default: redis://127.0.0.1:6379]' -r
complete -c dcache -n "__fish_dcache_using_subcommand serve" -l advertise-resp-urls -d 'RESP URL other nodes and tools should use for this node (default: the listen-resp-urls URL)' -r
complete -c dcache -n "__fish_dcache_using_subcommand serve" -l listen-peer-urls -d 'URL the peer (Raft) listener binds [default: http://127.0.0.1:8081]' -r
complete -c dcache -n "__fish_dcache_using_subcommand serve" -l initial-advertise-peer-urls -d 'Peer URL other nodes should use for this node (default: the listen-peer-urls URL)' -r
complete -c dcache -n "__fish_dcache_using_subcommand serve" -l initial-cluster -d 'Founding members: name=peer-url,... (identical on every founding node; default: this node alone, at its advertised peer URL)' -r
complete -c dcache -n "__fish_dcache_using_subcommand serve" -l initial-cluster-state -d '`new` to found the cluster in initial-cluster, `existing` to join one [default: new]' -r
complete -c dcache -n "__fish_dcache_using_subcommand serve" -l join -d 'Client URL of a running cluster to join on first start (default: join none; found or restart the cluster in initial-cluster)' -r
complete -c dcache -n "__fish_dcache_using_subcommand serve" -l peer-token -d 'Shared secret that every peer request must carry (same on every node; >= 16 chars; default: none, peers are not authenticated by token)' -r
complete -c dcache -n "__fish_dcache_using_subcommand serve" -l client-cert-file -d 'Certificate (PEM) of the client listener; needs an https:// listen-client-urls' -r -F
complete -c dcache -n "__fish_dcache_using_subcommand serve" -l client-key-file -d 'Private key (PEM) of the client listener' -r -F
complete -c dcache -n "__fish_dcache_using_subcommand serve" -l trusted-ca-file -d 'CA bundle (PEM) this node trusts when it calls a client URL over https (the join URL)' -r -F
complete -c dcache -n "__fish_dcache_using_subcommand serve" -l peer-cert-file -d 'Certificate (PEM) this node presents to peers, as server and as client (mutual TLS)' -r -F
complete -c dcache -n "__fish_dcache_using_subcommand serve" -l peer-key-file -d 'Private key (PEM) of the peer certificate' -r -F
complete -c dcache -n "__fish_dcache_using_subcommand serve" -l peer-trusted-ca-file -d 'CA bundle (PEM) that signs every peer certificate; peers without one are refused' -r -F
complete -c dcache -n "__fish_dcache_using_subcommand serve" -l admin-token -d 'Client token with admin access (repeatable): everything a read-write token may do, and membership changes (cluster join, remove, transfer-leadership)' -r
complete -c dcache -n "__fish_dcache_using_subcommand serve" -l auth-token -d 'Client token with read-write access (repeatable): reads, writes, backups; with any token set, clients must send one (default: none, the client API is open)' -r
complete -c dcache -n "__fish_dcache_using_subcommand serve" -l read-only-token -d 'Client token with read-only access (repeatable)' -r
complete -c dcache -n "__fish_dcache_using_subcommand serve" -l join-token -d 'Token this node sends when it joins a cluster whose client API requires one (an admin token: joining changes the membership)' -r
complete -c dcache -n "__fish_dcache_using_subcommand serve" -l max-connections -d 'Most connections serving requests per listener; further clients wait [default: 1024]' -r
complete -c dcache -n "__fish_dcache_using_subcommand serve" -l max-watchers -d 'Most watch streams open at once, counted apart from max-connections (503 past it) [default: 256]' -r
complete -c dcache -n "__fish_dcache_using_subcommand serve" -l max-header-bytes -d 'Largest accepted request head (request line + headers) in bytes [default: 16384]' -r
complete -c dcache -n "__fish_dcache_using_subcommand serve" -l header-read-timeout -d 'How long a client may take to send a request head, e.g. 10s (cuts slow clients and idle connections) [default: 10s]' -r
complete -c dcache -n "__fish_dcache_using_subcommand serve" -l max-key-bytes -d 'Longest accepted key in bytes [default: 4096]' -r
complete -c dcache -n "__fish_dcache_using_subcommand serve" -l max-value-bytes -d 'Longest accepted value in bytes [default: 1048576]' -r
complete -c dcache -n "__fish_dcache_using_subcommand serve" -l max-memory -d 'Memory bound of the cache (e.g. 64MiB, 2GiB; `off` = unbounded); keys are evicted past it [default: off]' -r
complete -c dcache -n "__fish_dcache_using_subcommand serve" -l request-timeout -d 'How long a request may wait for the cluster (e.g. 5s) [default: 5s]' -r
complete -c dcache -n "__fish_dcache_using_subcommand serve" -l snapshot-logs -d 'Snapshot the cache and purge the log every this many entries [default: 10000]' -r
complete -c dcache -n "__fish_dcache_using_subcommand serve" -l heartbeat-interval-ms -d 'Leader heartbeat interval in milliseconds [default: 100]' -r
complete -c dcache -n "__fish_dcache_using_subcommand serve" -l election-timeout-ms -d 'Minimum election timeout in milliseconds (the maximum is twice this) [default: 400]' -r
complete -c dcache -n "__fish_dcache_using_subcommand serve" -l check -d 'Validate the configuration, print it, and exit without starting'
complete -c dcache -n "__fish_dcache_using_subcommand serve" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dcache -n "__fish_dcache_using_subcommand serve" -s V -l version -d 'Print version'
complete -c dcache -n "__fish_dcache_using_subcommand set" -l file -d 'Read the value from this file (for values too large for an argument)' -r -F
complete -c dcache -n "__fish_dcache_using_subcommand set" -l ttl -d 'Expire the key after this long (e.g. 30s, 5m; at least 1ms); the leader stamps the deadline (default: the key never expires)' -r
complete -c dcache -n "__fish_dcache_using_subcommand set" -l if-version -d 'Only write if the key is at this version (compare-and-set; default: write whatever the version)' -r
complete -c dcache -n "__fish_dcache_using_subcommand set" -l server -d 'Client URL of any dcache node (http:// or https://, with host and port)' -r
complete -c dcache -n "__fish_dcache_using_subcommand set" -l timeout -d 'How long to wait for an answer (e.g. 500ms, 10s, 2m)' -r
complete -c dcache -n "__fish_dcache_using_subcommand set" -s o -l output -d 'Output format' -r -f -a "text\t'Plain text for people'
json\t'JSON for scripts: the `data` object of the server\'s answer'"
complete -c dcache -n "__fish_dcache_using_subcommand set" -l token -d 'Bearer token sent with every request, for nodes that require client authentication (default: none)' -r
complete -c dcache -n "__fish_dcache_using_subcommand set" -l cacert -d 'CA bundle (PEM) to trust for https:// servers, in addition to the system\'s roots (default: the system\'s roots only)' -r -F
complete -c dcache -n "__fish_dcache_using_subcommand set" -l endpoints -d 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)' -r
complete -c dcache -n "__fish_dcache_using_subcommand set" -l if-absent -d 'Only write if the key does not exist'
complete -c dcache -n "__fish_dcache_using_subcommand set" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dcache -n "__fish_dcache_using_subcommand set" -s V -l version -d 'Print version'
complete -c dcache -n "__fish_dcache_using_subcommand expire" -l server -d 'Client URL of any dcache node (http:// or https://, with host and port)' -r
complete -c dcache -n "__fish_dcache_using_subcommand expire" -l timeout -d 'How long to wait for an answer (e.g. 500ms, 10s, 2m)' -r
complete -c dcache -n "__fish_dcache_using_subcommand expire" -s o -l output -d 'Output format' -r -f -a "text\t'Plain text for people'
json\t'JSON for scripts: the `data` object of the server\'s answer'"
complete -c dcache -n "__fish_dcache_using_subcommand expire" -l token -d 'Bearer token sent with every request, for nodes that require client authentication (default: none)' -r
complete -c dcache -n "__fish_dcache_using_subcommand expire" -l cacert -d 'CA bundle (PEM) to trust for https:// servers, in addition to the system\'s roots (default: the system\'s roots only)' -r -F
complete -c dcache -n "__fish_dcache_using_subcommand expire" -l endpoints -d 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)' -r
complete -c dcache -n "__fish_dcache_using_subcommand expire" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dcache -n "__fish_dcache_using_subcommand expire" -s V -l version -d 'Print version'
complete -c dcache -n "__fish_dcache_using_subcommand persist" -l server -d 'Client URL of any dcache node (http:// or https://, with host and port)' -r
complete -c dcache -n "__fish_dcache_using_subcommand persist" -l timeout -d 'How long to wait for an answer (e.g. 500ms, 10s, 2m)' -r
complete -c dcache -n "__fish_dcache_using_subcommand persist" -s o -l output -d 'Output format' -r -f -a "text\t'Plain text for people'
json\t'JSON for scripts: the `data` object of the server\'s answer'"
complete -c dcache -n "__fish_dcache_using_subcommand persist" -l token -d 'Bearer token sent with every request, for nodes that require client authentication (default: none)' -r
complete -c dcache -n "__fish_dcache_using_subcommand persist" -l cacert -d 'CA bundle (PEM) to trust for https:// servers, in addition to the system\'s roots (default: the system\'s roots only)' -r -F
complete -c dcache -n "__fish_dcache_using_subcommand persist" -l endpoints -d 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)' -r
complete -c dcache -n "__fish_dcache_using_subcommand persist" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dcache -n "__fish_dcache_using_subcommand persist" -s V -l version -d 'Print version'
complete -c dcache -n "__fish_dcache_using_subcommand ttl" -l consistency -d 'Read consistency' -r -f -a "linearizable\t'Confirmed with a quorum through the leader (ReadIndex); never stale. The default'
lease\t'Confirmed by the leader\'s lease, without a round trip; assumes bounded clock drift'
local\t'This node\'s applied state; fastest, may be stale on a follower (alias `serializable`, as etcd calls it)'"
complete -c dcache -n "__fish_dcache_using_subcommand ttl" -l server -d 'Client URL of any dcache node (http:// or https://, with host and port)' -r
complete -c dcache -n "__fish_dcache_using_subcommand ttl" -l timeout -d 'How long to wait for an answer (e.g. 500ms, 10s, 2m)' -r
complete -c dcache -n "__fish_dcache_using_subcommand ttl" -s o -l output -d 'Output format' -r -f -a "text\t'Plain text for people'
json\t'JSON for scripts: the `data` object of the server\'s answer'"
complete -c dcache -n "__fish_dcache_using_subcommand ttl" -l token -d 'Bearer token sent with every request, for nodes that require client authentication (default: none)' -r
complete -c dcache -n "__fish_dcache_using_subcommand ttl" -l cacert -d 'CA bundle (PEM) to trust for https:// servers, in addition to the system\'s roots (default: the system\'s roots only)' -r -F
complete -c dcache -n "__fish_dcache_using_subcommand ttl" -l endpoints -d 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)' -r
complete -c dcache -n "__fish_dcache_using_subcommand ttl" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dcache -n "__fish_dcache_using_subcommand ttl" -s V -l version -d 'Print version'
complete -c dcache -n "__fish_dcache_using_subcommand watch" -l from-version -d 'Resume after this version (replays kept history first; default: only changes from now on)' -r
complete -c dcache -n "__fish_dcache_using_subcommand watch" -l server -d 'Client URL of any dcache node (http:// or https://, with host and port)' -r
complete -c dcache -n "__fish_dcache_using_subcommand watch" -l timeout -d 'How long to wait for an answer (e.g. 500ms, 10s, 2m)' -r
complete -c dcache -n "__fish_dcache_using_subcommand watch" -s o -l output -d 'Output format' -r -f -a "text\t'Plain text for people'
json\t'JSON for scripts: the `data` object of the server\'s answer'"
complete -c dcache -n "__fish_dcache_using_subcommand watch" -l token -d 'Bearer token sent with every request, for nodes that require client authentication (default: none)' -r
complete -c dcache -n "__fish_dcache_using_subcommand watch" -l cacert -d 'CA bundle (PEM) to trust for https:// servers, in addition to the system\'s roots (default: the system\'s roots only)' -r -F
complete -c dcache -n "__fish_dcache_using_subcommand watch" -l endpoints -d 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)' -r
complete -c dcache -n "__fish_dcache_using_subcommand watch" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dcache -n "__fish_dcache_using_subcommand watch" -s V -l version -d 'Print version'
complete -c dcache -n "__fish_dcache_using_subcommand get" -l limit -d 'With --prefix: most keys to list in all (default: every one)' -r
complete -c dcache -n "__fish_dcache_using_subcommand get" -l consistency -d 'Read consistency' -r -f -a "linearizable\t'Confirmed with a quorum through the leader (ReadIndex); never stale. The default'
lease\t'Confirmed by the leader\'s lease, without a round trip; assumes bounded clock drift'
local\t'This node\'s applied state; fastest, may be stale on a follower (alias `serializable`, as etcd calls it)'"
complete -c dcache -n "__fish_dcache_using_subcommand get" -l server -d 'Client URL of any dcache node (http:// or https://, with host and port)' -r
complete -c dcache -n "__fish_dcache_using_subcommand get" -l timeout -d 'How long to wait for an answer (e.g. 500ms, 10s, 2m)' -r
complete -c dcache -n "__fish_dcache_using_subcommand get" -s o -l output -d 'Output format' -r -f -a "text\t'Plain text for people'
json\t'JSON for scripts: the `data` object of the server\'s answer'"
complete -c dcache -n "__fish_dcache_using_subcommand get" -l token -d 'Bearer token sent with every request, for nodes that require client authentication (default: none)' -r
complete -c dcache -n "__fish_dcache_using_subcommand get" -l cacert -d 'CA bundle (PEM) to trust for https:// servers, in addition to the system\'s roots (default: the system\'s roots only)' -r -F
complete -c dcache -n "__fish_dcache_using_subcommand get" -l endpoints -d 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)' -r
complete -c dcache -n "__fish_dcache_using_subcommand get" -l prefix -d 'Treat KEY as a prefix and list every key under it (in pages, as `scan --all`)'
complete -c dcache -n "__fish_dcache_using_subcommand get" -l keys-only -d 'Print keys only, without values'
complete -c dcache -n "__fish_dcache_using_subcommand get" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dcache -n "__fish_dcache_using_subcommand get" -s V -l version -d 'Print version'
complete -c dcache -n "__fish_dcache_using_subcommand delete" -l if-version -d 'Only delete if the key is at this version (default: whatever the version)' -r
complete -c dcache -n "__fish_dcache_using_subcommand delete" -l server -d 'Client URL of any dcache node (http:// or https://, with host and port)' -r
complete -c dcache -n "__fish_dcache_using_subcommand delete" -l timeout -d 'How long to wait for an answer (e.g. 500ms, 10s, 2m)' -r
complete -c dcache -n "__fish_dcache_using_subcommand delete" -s o -l output -d 'Output format' -r -f -a "text\t'Plain text for people'
json\t'JSON for scripts: the `data` object of the server\'s answer'"
complete -c dcache -n "__fish_dcache_using_subcommand delete" -l token -d 'Bearer token sent with every request, for nodes that require client authentication (default: none)' -r
complete -c dcache -n "__fish_dcache_using_subcommand delete" -l cacert -d 'CA bundle (PEM) to trust for https:// servers, in addition to the system\'s roots (default: the system\'s roots only)' -r -F
complete -c dcache -n "__fish_dcache_using_subcommand delete" -l endpoints -d 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)' -r
complete -c dcache -n "__fish_dcache_using_subcommand delete" -l prefix -d 'Treat KEY as a prefix and delete every key under it'
complete -c dcache -n "__fish_dcache_using_subcommand delete" -s y -l yes -d 'Do not ask for confirmation (needed when standard input is not a terminal)'
complete -c dcache -n "__fish_dcache_using_subcommand delete" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dcache -n "__fish_dcache_using_subcommand delete" -s V -l version -d 'Print version'
complete -c dcache -n "__fish_dcache_using_subcommand txn" -l server -d 'Client URL of any dcache node (http:// or https://, with host and port)' -r
complete -c dcache -n "__fish_dcache_using_subcommand txn" -l timeout -d 'How long to wait for an answer (e.g. 500ms, 10s, 2m)' -r
complete -c dcache -n "__fish_dcache_using_subcommand txn" -s o -l output -d 'Output format' -r -f -a "text\t'Plain text for people'
json\t'JSON for scripts: the `data` object of the server\'s answer'"
complete -c dcache -n "__fish_dcache_using_subcommand txn" -l token -d 'Bearer token sent with every request, for nodes that require client authentication (default: none)' -r
complete -c dcache -n "__fish_dcache_using_subcommand txn" -l cacert -d 'CA bundle (PEM) to trust for https:// servers, in addition to the system\'s roots (default: the system\'s roots only)' -r -F
complete -c dcache -n "__fish_dcache_using_subcommand txn" -l endpoints -d 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)' -r
complete -c dcache -n "__fish_dcache_using_subcommand txn" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dcache -n "__fish_dcache_using_subcommand txn" -s V -l version -d 'Print version'
complete -c dcache -n "__fish_dcache_using_subcommand batch" -l server -d 'Client URL of any dcache node (http:// or https://, with host and port)' -r
complete -c dcache -n "__fish_dcache_using_subcommand batch" -l timeout -d 'How long to wait for an answer (e.g. 500ms, 10s, 2m)' -r
complete -c dcache -n "__fish_dcache_using_subcommand batch" -s o -l output -d 'Output format' -r -f -a "text\t'Plain text for people'
json\t'JSON for scripts: the `data` object of the server\'s answer'"
complete -c dcache -n "__fish_dcache_using_subcommand batch" -l token -d 'Bearer token sent with every request, for nodes that require client authentication (default: none)' -r
complete -c dcache -n "__fish_dcache_using_subcommand batch" -l cacert -d 'CA bundle (PEM) to trust for https:// servers, in addition to the system\'s roots (default: the system\'s roots only)' -r -F
complete -c dcache -n "__fish_dcache_using_subcommand batch" -l endpoints -d 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)' -r
complete -c dcache -n "__fish_dcache_using_subcommand batch" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dcache -n "__fish_dcache_using_subcommand batch" -s V -l version -d 'Print version'
complete -c dcache -n "__fish_dcache_using_subcommand scan" -l limit -d 'Most keys to list in all (fetched in pages of up to 10000)' -r
complete -c dcache -n "__fish_dcache_using_subcommand scan" -l consistency -d 'Read consistency' -r -f -a "linearizable\t'Confirmed with a quorum through the leader (ReadIndex); never stale. The default'
lease\t'Confirmed by the leader\'s lease, without a round trip; assumes bounded clock drift'
local\t'This node\'s applied state; fastest, may be stale on a follower (alias `serializable`, as etcd calls it)'"
complete -c dcache -n "__fish_dcache_using_subcommand scan" -l server -d 'Client URL of any dcache node (http:// or https://, with host and port)' -r
complete -c dcache -n "__fish_dcache_using_subcommand scan" -l timeout -d 'How long to wait for an answer (e.g. 500ms, 10s, 2m)' -r
complete -c dcache -n "__fish_dcache_using_subcommand scan" -s o -l output -d 'Output format' -r -f -a "text\t'Plain text for people'
json\t'JSON for scripts: the `data` object of the server\'s answer'"
complete -c dcache -n "__fish_dcache_using_subcommand scan" -l token -d 'Bearer token sent with every request, for nodes that require client authentication (default: none)' -r
complete -c dcache -n "__fish_dcache_using_subcommand scan" -l cacert -d 'CA bundle (PEM) to trust for https:// servers, in addition to the system\'s roots (default: the system\'s roots only)' -r -F
complete -c dcache -n "__fish_dcache_using_subcommand scan" -l endpoints -d 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)' -r
complete -c dcache -n "__fish_dcache_using_subcommand scan" -l all -d 'List every key under PREFIX, however many'
complete -c dcache -n "__fish_dcache_using_subcommand scan" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dcache -n "__fish_dcache_using_subcommand scan" -s V -l version -d 'Print version'
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and not __fish_seen_subcommand_from status health leader members transfer-leadership remove help" -l server -d 'Client URL of any dcache node (http:// or https://, with host and port)' -r
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and not __fish_seen_subcommand_from status health leader members transfer-leadership remove help" -l timeout -d 'How long to wait for an answer (e.g. 500ms, 10s, 2m)' -r
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and not __fish_seen_subcommand_from status health leader members transfer-leadership remove help" -s o -l output -d 'Output format' -r -f -a "text\t'Plain text for people'
json\t'JSON for scripts: the `data` object of the server\'s answer'"
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and not __fish_seen_subcommand_from status health leader members transfer-leadership remove help" -l token -d 'Bearer token sent with every request, for nodes that require client authentication (default: none)' -r
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and not __fish_seen_subcommand_from status health leader members transfer-leadership remove help" -l cacert -d 'CA bundle (PEM) to trust for https:// servers, in addition to the system\'s roots (default: the system\'s roots only)' -r -F
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and not __fish_seen_subcommand_from status health leader members transfer-leadership remove help" -l endpoints -d 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)' -r
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and not __fish_seen_subcommand_from status health leader members transfer-leadership remove help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and not __fish_seen_subcommand_from status health leader members transfer-leadership remove help" -s V -l version -d 'Print version'
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and not __fish_seen_subcommand_from status health leader members transfer-leadership remove help" -f -a "status" -d 'Every member\'s role, term, log indexes, lag and key count, asked of each member, and the quorum line (`2/3 voters up, quorum OK`). A report: exits 0 whatever it shows'
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and not __fish_seen_subcommand_from status health leader members transfer-leadership remove help" -f -a "health" -d 'Every member\'s /health, one line each, then the quorum line; exits 6 when a member is down or unhealthy or the voters have no quorum (for scripts and probes)'
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and not __fish_seen_subcommand_from status health leader members transfer-leadership remove help" -f -a "leader" -d 'The current leader'
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and not __fish_seen_subcommand_from status health leader members transfer-leadership remove help" -f -a "members" -d 'The members of the cluster'
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and not __fish_seen_subcommand_from status health leader members transfer-leadership remove help" -f -a "transfer-leadership" -d 'Move leadership to a member (by name or id); waits until it leads'
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and not __fish_seen_subcommand_from status health leader members transfer-leadership remove help" -f -a "remove" -d 'Remove a member (by name or id) from the cluster; the removed node stops itself'
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and not __fish_seen_subcommand_from status health leader members transfer-leadership remove help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and __fish_seen_subcommand_from status" -l server -d 'Client URL of any dcache node (http:// or https://, with host and port)' -r
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and __fish_seen_subcommand_from status" -l timeout -d 'How long to wait for an answer (e.g. 500ms, 10s, 2m)' -r
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and __fish_seen_subcommand_from status" -s o -l output -d 'Output format' -r -f -a "text\t'Plain text for people'
json\t'JSON for scripts: the `data` object of the server\'s answer'"
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and __fish_seen_subcommand_from status" -l token -d 'Bearer token sent with every request, for nodes that require client authentication (default: none)' -r
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and __fish_seen_subcommand_from status" -l cacert -d 'CA bundle (PEM) to trust for https:// servers, in addition to the system\'s roots (default: the system\'s roots only)' -r -F
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and __fish_seen_subcommand_from status" -l endpoints -d 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)' -r
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and __fish_seen_subcommand_from status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and __fish_seen_subcommand_from status" -s V -l version -d 'Print version'
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and __fish_seen_subcommand_from health" -l server -d 'Client URL of any dcache node (http:// or https://, with host and port)' -r
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and __fish_seen_subcommand_from health" -l timeout -d 'How long to wait for an answer (e.g. 500ms, 10s, 2m)' -r
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and __fish_seen_subcommand_from health" -s o -l output -d 'Output format' -r -f -a "text\t'Plain text for people'
json\t'JSON for scripts: the `data` object of the server\'s answer'"
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and __fish_seen_subcommand_from health" -l token -d 'Bearer token sent with every request, for nodes that require client authentication (default: none)' -r
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and __fish_seen_subcommand_from health" -l cacert -d 'CA bundle (PEM) to trust for https:// servers, in addition to the system\'s roots (default: the system\'s roots only)' -r -F
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and __fish_seen_subcommand_from health" -l endpoints -d 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)' -r
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and __fish_seen_subcommand_from health" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and __fish_seen_subcommand_from health" -s V -l version -d 'Print version'
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and __fish_seen_subcommand_from leader" -l server -d 'Client URL of any dcache node (http:// or https://, with host and port)' -r
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and __fish_seen_subcommand_from leader" -l timeout -d 'How long to wait for an answer (e.g. 500ms, 10s, 2m)' -r
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and __fish_seen_subcommand_from leader" -s o -l output -d 'Output format' -r -f -a "text\t'Plain text for people'
json\t'JSON for scripts: the `data` object of the server\'s answer'"
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and __fish_seen_subcommand_from leader" -l token -d 'Bearer token sent with every request, for nodes that require client authentication (default: none)' -r
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and __fish_seen_subcommand_from leader" -l cacert -d 'CA bundle (PEM) to trust for https:// servers, in addition to the system\'s roots (default: the system\'s roots only)' -r -F
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and __fish_seen_subcommand_from leader" -l endpoints -d 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)' -r
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and __fish_seen_subcommand_from leader" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and __fish_seen_subcommand_from leader" -s V -l version -d 'Print version'
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and __fish_seen_subcommand_from members" -l server -d 'Client URL of any dcache node (http:// or https://, with host and port)' -r
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and __fish_seen_subcommand_from members" -l timeout -d 'How long to wait for an answer (e.g. 500ms, 10s, 2m)' -r
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and __fish_seen_subcommand_from members" -s o -l output -d 'Output format' -r -f -a "text\t'Plain text for people'
json\t'JSON for scripts: the `data` object of the server\'s answer'"
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and __fish_seen_subcommand_from members" -l token -d 'Bearer token sent with every request, for nodes that require client authentication (default: none)' -r
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and __fish_seen_subcommand_from members" -l cacert -d 'CA bundle (PEM) to trust for https:// servers, in addition to the system\'s roots (default: the system\'s roots only)' -r -F
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and __fish_seen_subcommand_from members" -l endpoints -d 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)' -r
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and __fish_seen_subcommand_from members" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and __fish_seen_subcommand_from members" -s V -l version -d 'Print version'
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and __fish_seen_subcommand_from transfer-leadership" -l server -d 'Client URL of any dcache node (http:// or https://, with host and port)' -r
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and __fish_seen_subcommand_from transfer-leadership" -l timeout -d 'How long to wait for an answer (e.g. 500ms, 10s, 2m)' -r
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and __fish_seen_subcommand_from transfer-leadership" -s o -l output -d 'Output format' -r -f -a "text\t'Plain text for people'
json\t'JSON for scripts: the `data` object of the server\'s answer'"
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and __fish_seen_subcommand_from transfer-leadership" -l token -d 'Bearer token sent with every request, for nodes that require client authentication (default: none)' -r
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and __fish_seen_subcommand_from transfer-leadership" -l cacert -d 'CA bundle (PEM) to trust for https:// servers, in addition to the system\'s roots (default: the system\'s roots only)' -r -F
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and __fish_seen_subcommand_from transfer-leadership" -l endpoints -d 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)' -r
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and __fish_seen_subcommand_from transfer-leadership" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and __fish_seen_subcommand_from transfer-leadership" -s V -l version -d 'Print version'
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and __fish_seen_subcommand_from remove" -l server -d 'Client URL of any dcache node (http:// or https://, with host and port)' -r
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and __fish_seen_subcommand_from remove" -l timeout -d 'How long to wait for an answer (e.g. 500ms, 10s, 2m)' -r
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and __fish_seen_subcommand_from remove" -s o -l output -d 'Output format' -r -f -a "text\t'Plain text for people'
json\t'JSON for scripts: the `data` object of the server\'s answer'"
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and __fish_seen_subcommand_from remove" -l token -d 'Bearer token sent with every request, for nodes that require client authentication (default: none)' -r
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and __fish_seen_subcommand_from remove" -l cacert -d 'CA bundle (PEM) to trust for https:// servers, in addition to the system\'s roots (default: the system\'s roots only)' -r -F
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and __fish_seen_subcommand_from remove" -l endpoints -d 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)' -r
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and __fish_seen_subcommand_from remove" -s V -l version -d 'Print version'
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and __fish_seen_subcommand_from help" -f -a "status" -d 'Every member\'s role, term, log indexes, lag and key count, asked of each member, and the quorum line (`2/3 voters up, quorum OK`). A report: exits 0 whatever it shows'
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and __fish_seen_subcommand_from help" -f -a "health" -d 'Every member\'s /health, one line each, then the quorum line; exits 6 when a member is down or unhealthy or the voters have no quorum (for scripts and probes)'
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and __fish_seen_subcommand_from help" -f -a "leader" -d 'The current leader'
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and __fish_seen_subcommand_from help" -f -a "members" -d 'The members of the cluster'
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and __fish_seen_subcommand_from help" -f -a "transfer-leadership" -d 'Move leadership to a member (by name or id); waits until it leads'
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and __fish_seen_subcommand_from help" -f -a "remove" -d 'Remove a member (by name or id) from the cluster; the removed node stops itself'
complete -c dcache -n "__fish_dcache_using_subcommand cluster; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c dcache -n "__fish_dcache_using_subcommand dash" -l interval -d 'How often every node is polled (e.g. 250ms, 1s, 5s; at least 50ms)' -r
complete -c dcache -n "__fish_dcache_using_subcommand dash" -l server -d 'Client URL of any dcache node (http:// or https://, with host and port)' -r
complete -c dcache -n "__fish_dcache_using_subcommand dash" -l timeout -d 'How long to wait for an answer (e.g. 500ms, 10s, 2m)' -r
complete -c dcache -n "__fish_dcache_using_subcommand dash" -l token -d 'Bearer token sent with every request, for nodes that require client authentication (default: none)' -r
complete -c dcache -n "__fish_dcache_using_subcommand dash" -l cacert -d 'CA bundle (PEM) to trust for https:// servers, in addition to the system\'s roots (default: the system\'s roots only)' -r -F
complete -c dcache -n "__fish_dcache_using_subcommand dash" -l endpoints -d 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)' -r
complete -c dcache -n "__fish_dcache_using_subcommand dash" -s o -l output -d 'Output format' -r -f -a "text\t'Plain text for people'
json\t'JSON for scripts: the `data` object of the server\'s answer'"
complete -c dcache -n "__fish_dcache_using_subcommand dash" -s h -l help -d 'Print help'
complete -c dcache -n "__fish_dcache_using_subcommand dash" -s V -l version -d 'Print version'
complete -c dcache -n "__fish_dcache_using_subcommand bench" -l clients -d 'Concurrent clients, each with one request in flight (at least 1)' -r
complete -c dcache -n "__fish_dcache_using_subcommand bench" -l duration -d 'How long to run (e.g. 10s); ignored with --requests' -r
complete -c dcache -n "__fish_dcache_using_subcommand bench" -l requests -d 'Stop after this many requests instead of after --duration (default: run for --duration)' -r
complete -c dcache -n "__fish_dcache_using_subcommand bench" -l workload -d 'What to send' -r -f -a "set\t'Only sets'
get\t'Only gets (the key space is written once first)'
mixed\t'Gets with probability `read_ratio`, sets otherwise'"
complete -c dcache -n "__fish_dcache_using_subcommand bench" -l read-ratio -d 'Fraction of gets in the mixed workload (0 to 1)' -r
complete -c dcache -n "__fish_dcache_using_subcommand bench" -l key-space -d 'Number of distinct keys (at least 1)' -r
complete -c dcache -n "__fish_dcache_using_subcommand bench" -l key-prefix -d 'Text in front of every key the run writes or reads: keys are PREFIX00000000, PREFIX00000001, ... up to --key-space (any text; pick one no application uses)' -r
complete -c dcache -n "__fish_dcache_using_subcommand bench" -l value-size -d 'Value size in bytes' -r
complete -c dcache -n "__fish_dcache_using_subcommand bench" -l consistency -d 'Consistency of the gets' -r -f -a "linearizable\t'Confirmed with a quorum through the leader (ReadIndex); never stale. The default'
lease\t'Confirmed by the leader\'s lease, without a round trip; assumes bounded clock drift'
local\t'This node\'s applied state; fastest, may be stale on a follower (alias `serializable`, as etcd calls it)'"
complete -c dcache -n "__fish_dcache_using_subcommand bench" -l server -d 'Client URL of any dcache node (http:// or https://, with host and port)' -r
complete -c dcache -n "__fish_dcache_using_subcommand bench" -l timeout -d 'How long to wait for an answer (e.g. 500ms, 10s, 2m)' -r
complete -c dcache -n "__fish_dcache_using_subcommand bench" -s o -l output -d 'Output format' -r -f -a "text\t'Plain text for people'
json\t'JSON for scripts: the `data` object of the server\'s answer'"
complete -c dcache -n "__fish_dcache_using_subcommand bench" -l token -d 'Bearer token sent with every request, for nodes that require client authentication (default: none)' -r
complete -c dcache -n "__fish_dcache_using_subcommand bench" -l cacert -d 'CA bundle (PEM) to trust for https:// servers, in addition to the system\'s roots (default: the system\'s roots only)' -r -F
complete -c dcache -n "__fish_dcache_using_subcommand bench" -l endpoints -d 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)' -r
complete -c dcache -n "__fish_dcache_using_subcommand bench" -l no-prefill -d 'Skip writing the key space before a get or mixed run'
complete -c dcache -n "__fish_dcache_using_subcommand bench" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dcache -n "__fish_dcache_using_subcommand bench" -s V -l version -d 'Print version'
complete -c dcache -n "__fish_dcache_using_subcommand local-cluster" -l nodes -d 'How many nodes (1-9)' -r
complete -c dcache -n "__fish_dcache_using_subcommand local-cluster" -l base-port -d 'Client port of node1; node K uses base+2(K-1) for clients, the next port for peers and base+1000+(K-1) for the Redis protocol' -r
complete -c dcache -n "__fish_dcache_using_subcommand local-cluster" -l data-dir -d 'Where the nodes keep their data and logs' -r -F
complete -c dcache -n "__fish_dcache_using_subcommand local-cluster" -s h -l help -d 'Print help'
complete -c dcache -n "__fish_dcache_using_subcommand local-cluster" -s V -l version -d 'Print version'
complete -c dcache -n "__fish_dcache_using_subcommand backup; and not __fish_seen_subcommand_from save restore help" -l server -d 'Client URL of any dcache node (http:// or https://, with host and port)' -r
complete -c dcache -n "__fish_dcache_using_subcommand backup; and not __fish_seen_subcommand_from save restore help" -l timeout -d 'How long to wait for an answer (e.g. 500ms, 10s, 2m)' -r
complete -c dcache -n "__fish_dcache_using_subcommand backup; and not __fish_seen_subcommand_from save restore help" -s o -l output -d 'Output format' -r -f -a "text\t'Plain text for people'
json\t'JSON for scripts: the `data` object of the server\'s answer'"
complete -c dcache -n "__fish_dcache_using_subcommand backup; and not __fish_seen_subcommand_from save restore help" -l token -d 'Bearer token sent with every request, for nodes that require client authentication (default: none)' -r
complete -c dcache -n "__fish_dcache_using_subcommand backup; and not __fish_seen_subcommand_from save restore help" -l cacert -d 'CA bundle (PEM) to trust for https:// servers, in addition to the system\'s roots (default: the system\'s roots only)' -r -F
complete -c dcache -n "__fish_dcache_using_subcommand backup; and not __fish_seen_subcommand_from save restore help" -l endpoints -d 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)' -r
complete -c dcache -n "__fish_dcache_using_subcommand backup; and not __fish_seen_subcommand_from save restore help" -s h -l help -d 'Print help'
complete -c dcache -n "__fish_dcache_using_subcommand backup; and not __fish_seen_subcommand_from save restore help" -s V -l version -d 'Print version'
complete -c dcache -n "__fish_dcache_using_subcommand backup; and not __fish_seen_subcommand_from save restore help" -f -a "save" -d 'Download a consistent backup from the leader into FILE (every write acknowledged before the command started is in it)'
complete -c dcache -n "__fish_dcache_using_subcommand backup; and not __fish_seen_subcommand_from save restore help" -f -a "restore" -d 'Seed the empty data dir of one node of a new cluster from FILE. Give the node\'s configuration as for `dcache serve` (--config, or --name, --data-dir, --initial-cluster, ...); run it for every founding node with the same FILE, then start them'
complete -c dcache -n "__fish_dcache_using_subcommand backup; and not __fish_seen_subcommand_from save restore help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c dcache -n "__fish_dcache_using_subcommand backup; and __fish_seen_subcommand_from save" -l server -d 'Client URL of any dcache node (http:// or https://, with host and port)' -r
complete -c dcache -n "__fish_dcache_using_subcommand backup; and __fish_seen_subcommand_from save" -l timeout -d 'How long to wait for an answer (e.g. 500ms, 10s, 2m)' -r
complete -c dcache -n "__fish_dcache_using_subcommand backup; and __fish_seen_subcommand_from save" -s o -l output -d 'Output format' -r -f -a "text\t'Plain text for people'
json\t'JSON for scripts: the `data` object of the server\'s answer'"
complete -c dcache -n "__fish_dcache_using_subcommand backup; and __fish_seen_subcommand_from save" -l token -d 'Bearer token sent with every request, for nodes that require client authentication (default: none)' -r
complete -c dcache -n "__fish_dcache_using_subcommand backup; and __fish_seen_subcommand_from save" -l cacert -d 'CA bundle (PEM) to trust for https:// servers, in addition to the system\'s roots (default: the system\'s roots only)' -r -F
complete -c dcache -n "__fish_dcache_using_subcommand backup; and __fish_seen_subcommand_from save" -l endpoints -d 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)' -r
complete -c dcache -n "__fish_dcache_using_subcommand backup; and __fish_seen_subcommand_from save" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dcache -n "__fish_dcache_using_subcommand backup; and __fish_seen_subcommand_from save" -s V -l version -d 'Print version'
complete -c dcache -n "__fish_dcache_using_subcommand backup; and __fish_seen_subcommand_from restore" -s o -l output -d 'Output format of the summary' -r -f -a "text\t'Plain text for people'
json\t'JSON for scripts: the `data` object of the server\'s answer'"
complete -c dcache -n "__fish_dcache_using_subcommand backup; and __fish_seen_subcommand_from restore" -s c -l config -d 'YAML config file (see config/dcache.yaml for every key; default: none, flags and built-in defaults only)' -r -F
complete -c dcache -n "__fish_dcache_using_subcommand backup; and __fish_seen_subcommand_from restore" -l log-level -d 'Log level or filter: error, warn, info, debug, trace (or e.g. `dcache=debug`) [default: info]' -r
complete -c dcache -n "__fish_dcache_using_subcommand backup; and __fish_seen_subcommand_from restore" -l name -d 'This node\'s name; must appear in initial-cluster [default: node1]' -r
complete -c dcache -n "__fish_dcache_using_subcommand backup; and __fish_seen_subcommand_from restore" -l cluster-id -d 'Cluster identity; a data dir written for another cluster id is refused [default: dcache]' -r
complete -c dcache -n "__fish_dcache_using_subcommand backup; and __fish_seen_subcommand_from restore" -l data-dir -d 'Where the Raft log, vote and snapshots are kept [default: ./dcache-data]' -r -F
complete -c dcache -n "__fish_dcache_using_subcommand backup; and __fish_seen_subcommand_from restore" -l listen-client-urls -d 'URL the client API listens on [default: http://127.0.0.1:8080]' -r
complete -c dcache -n "__fish_dcache_using_subcommand backup; and __fish_seen_subcommand_from restore" -l advertise-client-urls -d 'Client URL other nodes and tools should use for this node (default: the listen-client-urls URL)' -r
complete -c dcache -n "__fish_dcache_using_subcommand backup; and __fish_seen_subcommand_from restore" -l listen-resp-urls -d 'URL the Redis-protocol (RESP) listener binds, `redis://HOST:PORT`; empty disables it [default: redis://127.0.0.1:6379]' -r
complete -c dcache -n "__fish_dcache_using_subcommand backup; and __fish_seen_subcommand_from restore" -l advertise-resp-urls -d 'RESP URL other nodes and tools should use for this node (default: the listen-resp-urls URL)' -r
complete -c dcache -n "__fish_dcache_using_subcommand backup; and __fish_seen_subcommand_from restore" -l listen-peer-urls -d 'URL the peer (Raft) listener binds [default: http://127.0.0.1:8081]' -r
complete -c dcache -n "__fish_dcache_using_subcommand backup; and __fish_seen_subcommand_from restore" -l initial-advertise-peer-urls -d 'Peer URL other nodes should use for this node (default: the listen-peer-urls URL)' -r
complete -c dcache -n "__fish_dcache_using_subcommand backup; and __fish_seen_subcommand_from restore" -l initial-cluster -d 'Founding members: name=peer-url,... (identical on every founding node; default: this node alone, at its advertised peer URL)' -r
complete -c dcache -n "__fish_dcache_using_subcommand backup; and __fish_seen_subcommand_from restore" -l initial-cluster-state -d '`new` to found the cluster in initial-cluster, `existing` to join one [default: new]' -r
complete -c dcache -n "__fish_dcache_using_subcommand backup; and __fish_seen_subcommand_from restore" -l join -d 'Client URL of a running cluster to join on first start (default: join none; found or restart the cluster in initial-cluster)' -r
complete -c dcache -n "__fish_dcache_using_subcommand backup; and __fish_seen_subcommand_from restore" -l peer-token -d 'Shared secret that every peer request must carry (same on every node; >= 16 chars; default: none, peers are not authenticated by token)' -r
complete -c dcache -n "__fish_dcache_using_subcommand backup; and __fish_seen_subcommand_from restore" -l client-cert-file -d 'Certificate (PEM) of the client listener; needs an https:// listen-client-urls' -r -F
complete -c dcache -n "__fish_dcache_using_subcommand backup; and __fish_seen_subcommand_from restore" -l client-key-file -d 'Private key (PEM) of the client listener' -r -F
complete -c dcache -n "__fish_dcache_using_subcommand backup; and __fish_seen_subcommand_from restore" -l trusted-ca-file -d 'CA bundle (PEM) this node trusts when it calls a client URL over https (the join URL)' -r -F
complete -c dcache -n "__fish_dcache_using_subcommand backup; and __fish_seen_subcommand_from restore" -l peer-cert-file -d 'Certificate (PEM) this node presents to peers, as server and as client (mutual TLS)' -r -F
complete -c dcache -n "__fish_dcache_using_subcommand backup; and __fish_seen_subcommand_from restore" -l peer-key-file -d 'Private key (PEM) of the peer certificate' -r -F
complete -c dcache -n "__fish_dcache_using_subcommand backup; and __fish_seen_subcommand_from restore" -l peer-trusted-ca-file -d 'CA bundle (PEM) that signs every peer certificate; peers without one are refused' -r -F
complete -c dcache -n "__fish_dcache_using_subcommand backup; and __fish_seen_subcommand_from restore" -l admin-token -d 'Client token with admin access (repeatable): everything a read-write token may do, and membership changes (cluster join, remove, transfer-leadership)' -r
complete -c dcache -n "__fish_dcache_using_subcommand backup; and __fish_seen_subcommand_from restore" -l auth-token -d 'Client token with read-write access (repeatable): reads, writes, backups; with any token set, clients must send one (default: none, the client API is open)' -r
complete -c dcache -n "__fish_dcache_using_subcommand backup; and __fish_seen_subcommand_from restore" -l read-only-token -d 'Client token with read-only access (repeatable)' -r
complete -c dcache -n "__fish_dcache_using_subcommand backup; and __fish_seen_subcommand_from restore" -l join-token -d 'Token this node sends when it joins a cluster whose client API requires one (an admin token: joining changes the membership)' -r
complete -c dcache -n "__fish_dcache_using_subcommand backup; and __fish_seen_subcommand_from restore" -l max-connections -d 'Most connections serving requests per listener; further clients wait [default: 1024]' -r
complete -c dcache -n "__fish_dcache_using_subcommand backup; and __fish_seen_subcommand_from restore" -l max-watchers -d 'Most watch streams open at once, counted apart from max-connections (503 past it) [default: 256]' -r
complete -c dcache -n "__fish_dcache_using_subcommand backup; and __fish_seen_subcommand_from restore" -l max-header-bytes -d 'Largest accepted request head (request line + headers) in bytes [default: 16384]' -r
complete -c dcache -n "__fish_dcache_using_subcommand backup; and __fish_seen_subcommand_from restore" -l header-read-timeout -d 'How long a client may take to send a request head, e.g. 10s (cuts slow clients and idle connections) [default: 10s]' -r
complete -c dcache -n "__fish_dcache_using_subcommand backup; and __fish_seen_subcommand_from restore" -l max-key-bytes -d 'Longest accepted key in bytes [default: 4096]' -r
complete -c dcache -n "__fish_dcache_using_subcommand backup; and __fish_seen_subcommand_from restore" -l max-value-bytes -d 'Longest accepted value in bytes [default: 1048576]' -r
complete -c dcache -n "__fish_dcache_using_subcommand backup; and __fish_seen_subcommand_from restore" -l max-memory -d 'Memory bound of the cache (e.g. 64MiB, 2GiB; `off` = unbounded); keys are evicted past it [default: off]' -r
complete -c dcache -n "__fish_dcache_using_subcommand backup; and __fish_seen_subcommand_from restore" -l request-timeout -d 'How long a request may wait for the cluster (e.g. 5s) [default: 5s]' -r
complete -c dcache -n "__fish_dcache_using_subcommand backup; and __fish_seen_subcommand_from restore" -l snapshot-logs -d 'Snapshot the cache and purge the log every this many entries [default: 10000]' -r
complete -c dcache -n "__fish_dcache_using_subcommand backup; and __fish_seen_subcommand_from restore" -l heartbeat-interval-ms -d 'Leader heartbeat interval in milliseconds [default: 100]' -r
complete -c dcache -n "__fish_dcache_using_subcommand backup; and __fish_seen_subcommand_from restore" -l election-timeout-ms -d 'Minimum election timeout in milliseconds (the maximum is twice this) [default: 400]' -r
complete -c dcache -n "__fish_dcache_using_subcommand backup; and __fish_seen_subcommand_from restore" -l check -d 'Validate the configuration, print it, and exit without starting'
complete -c dcache -n "__fish_dcache_using_subcommand backup; and __fish_seen_subcommand_from restore" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dcache -n "__fish_dcache_using_subcommand backup; and __fish_seen_subcommand_from restore" -s V -l version -d 'Print version'
complete -c dcache -n "__fish_dcache_using_subcommand backup; and __fish_seen_subcommand_from help" -f -a "save" -d 'Download a consistent backup from the leader into FILE (every write acknowledged before the command started is in it)'
complete -c dcache -n "__fish_dcache_using_subcommand backup; and __fish_seen_subcommand_from help" -f -a "restore" -d 'Seed the empty data dir of one node of a new cluster from FILE. Give the node\'s configuration as for `dcache serve` (--config, or --name, --data-dir, --initial-cluster, ...); run it for every founding node with the same FILE, then start them'
complete -c dcache -n "__fish_dcache_using_subcommand backup; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c dcache -n "__fish_dcache_using_subcommand snapshot; and not __fish_seen_subcommand_from save restore help" -l server -d 'Client URL of any dcache node (http:// or https://, with host and port)' -r
complete -c dcache -n "__fish_dcache_using_subcommand snapshot; and not __fish_seen_subcommand_from save restore help" -l timeout -d 'How long to wait for an answer (e.g. 500ms, 10s, 2m)' -r
complete -c dcache -n "__fish_dcache_using_subcommand snapshot; and not __fish_seen_subcommand_from save restore help" -s o -l output -d 'Output format' -r -f -a "text\t'Plain text for people'
json\t'JSON for scripts: the `data` object of the server\'s answer'"
complete -c dcache -n "__fish_dcache_using_subcommand snapshot; and not __fish_seen_subcommand_from save restore help" -l token -d 'Bearer token sent with every request, for nodes that require client authentication (default: none)' -r
complete -c dcache -n "__fish_dcache_using_subcommand snapshot; and not __fish_seen_subcommand_from save restore help" -l cacert -d 'CA bundle (PEM) to trust for https:// servers, in addition to the system\'s roots (default: the system\'s roots only)' -r -F
complete -c dcache -n "__fish_dcache_using_subcommand snapshot; and not __fish_seen_subcommand_from save restore help" -l endpoints -d 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)' -r
complete -c dcache -n "__fish_dcache_using_subcommand snapshot; and not __fish_seen_subcommand_from save restore help" -s h -l help -d 'Print help'
complete -c dcache -n "__fish_dcache_using_subcommand snapshot; and not __fish_seen_subcommand_from save restore help" -s V -l version -d 'Print version'
complete -c dcache -n "__fish_dcache_using_subcommand snapshot; and not __fish_seen_subcommand_from save restore help" -f -a "save" -d 'Download a consistent backup from the leader into FILE (every write acknowledged before the command started is in it)'
complete -c dcache -n "__fish_dcache_using_subcommand snapshot; and not __fish_seen_subcommand_from save restore help" -f -a "restore" -d 'Seed the empty data dir of one node of a new cluster from FILE. Give the node\'s configuration as for `dcache serve` (--config, or --name, --data-dir, --initial-cluster, ...); run it for every founding node with the same FILE, then start them'
complete -c dcache -n "__fish_dcache_using_subcommand snapshot; and not __fish_seen_subcommand_from save restore help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c dcache -n "__fish_dcache_using_subcommand snapshot; and __fish_seen_subcommand_from save" -l server -d 'Client URL of any dcache node (http:// or https://, with host and port)' -r
complete -c dcache -n "__fish_dcache_using_subcommand snapshot; and __fish_seen_subcommand_from save" -l timeout -d 'How long to wait for an answer (e.g. 500ms, 10s, 2m)' -r
complete -c dcache -n "__fish_dcache_using_subcommand snapshot; and __fish_seen_subcommand_from save" -s o -l output -d 'Output format' -r -f -a "text\t'Plain text for people'
json\t'JSON for scripts: the `data` object of the server\'s answer'"
complete -c dcache -n "__fish_dcache_using_subcommand snapshot; and __fish_seen_subcommand_from save" -l token -d 'Bearer token sent with every request, for nodes that require client authentication (default: none)' -r
complete -c dcache -n "__fish_dcache_using_subcommand snapshot; and __fish_seen_subcommand_from save" -l cacert -d 'CA bundle (PEM) to trust for https:// servers, in addition to the system\'s roots (default: the system\'s roots only)' -r -F
complete -c dcache -n "__fish_dcache_using_subcommand snapshot; and __fish_seen_subcommand_from save" -l endpoints -d 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)' -r
complete -c dcache -n "__fish_dcache_using_subcommand snapshot; and __fish_seen_subcommand_from save" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dcache -n "__fish_dcache_using_subcommand snapshot; and __fish_seen_subcommand_from save" -s V -l version -d 'Print version'
complete -c dcache -n "__fish_dcache_using_subcommand snapshot; and __fish_seen_subcommand_from restore" -s o -l output -d 'Output format of the summary' -r -f -a "text\t'Plain text for people'
json\t'JSON for scripts: the `data` object of the server\'s answer'"
complete -c dcache -n "__fish_dcache_using_subcommand snapshot; and __fish_seen_subcommand_from restore" -s c -l config -d 'YAML config file (see config/dcache.yaml for every key; default: none, flags and built-in defaults only)' -r -F
complete -c dcache -n "__fish_dcache_using_subcommand snapshot; and __fish_seen_subcommand_from restore" -l log-level -d 'Log level or filter: error, warn, info, debug, trace (or e.g. `dcache=debug`) [default: info]' -r
complete -c dcache -n "__fish_dcache_using_subcommand snapshot; and __fish_seen_subcommand_from restore" -l name -d 'This node\'s name; must appear in initial-cluster [default: node1]' -r
complete -c dcache -n "__fish_dcache_using_subcommand snapshot; and __fish_seen_subcommand_from restore" -l cluster-id -d 'Cluster identity; a data dir written for another cluster id is refused [default: dcache]' -r
complete -c dcache -n "__fish_dcache_using_subcommand snapshot; and __fish_seen_subcommand_from restore" -l data-dir -d 'Where the Raft log, vote and snapshots are kept [default: ./dcache-data]' -r -F
complete -c dcache -n "__fish_dcache_using_subcommand snapshot; and __fish_seen_subcommand_from restore" -l listen-client-urls -d 'URL the client API listens on [default: http://127.0.0.1:8080]' -r
complete -c dcache -n "__fish_dcache_using_subcommand snapshot; and __fish_seen_subcommand_from restore" -l advertise-client-urls -d 'Client URL other nodes and tools should use for this node (default: the listen-client-urls URL)' -r
complete -c dcache -n "__fish_dcache_using_subcommand snapshot; and __fish_seen_subcommand_from restore" -l listen-resp-urls -d 'URL the Redis-protocol (RESP) listener binds, `redis://HOST:PORT`; empty disables it [default: redis://127.0.0.1:6379]' -r
complete -c dcache -n "__fish_dcache_using_subcommand snapshot; and __fish_seen_subcommand_from restore" -l advertise-resp-urls -d 'RESP URL other nodes and tools should use for this node (default: the listen-resp-urls URL)' -r
complete -c dcache -n "__fish_dcache_using_subcommand snapshot; and __fish_seen_subcommand_from restore" -l listen-peer-urls -d 'URL the peer (Raft) listener binds [default: http://127.0.0.1:8081]' -r
complete -c dcache -n "__fish_dcache_using_subcommand snapshot; and __fish_seen_subcommand_from restore" -l initial-advertise-peer-urls -d 'Peer URL other nodes should use for this node (default: the listen-peer-urls URL)' -r
complete -c dcache -n "__fish_dcache_using_subcommand snapshot; and __fish_seen_subcommand_from restore" -l initial-cluster -d 'Founding members: name=peer-url,... (identical on every founding node; default: this node alone, at its advertised peer URL)' -r
complete -c dcache -n "__fish_dcache_using_subcommand snapshot; and __fish_seen_subcommand_from restore" -l initial-cluster-state -d '`new` to found the cluster in initial-cluster, `existing` to join one [default: new]' -r
complete -c dcache -n "__fish_dcache_using_subcommand snapshot; and __fish_seen_subcommand_from restore" -l join -d 'Client URL of a running cluster to join on first start (default: join none; found or restart the cluster in initial-cluster)' -r
complete -c dcache -n "__fish_dcache_using_subcommand snapshot; and __fish_seen_subcommand_from restore" -l peer-token -d 'Shared secret that every peer request must carry (same on every node; >= 16 chars; default: none, peers are not authenticated by token)' -r
complete -c dcache -n "__fish_dcache_using_subcommand snapshot; and __fish_seen_subcommand_from restore" -l client-cert-file -d 'Certificate (PEM) of the client listener; needs an https:// listen-client-urls' -r -F
complete -c dcache -n "__fish_dcache_using_subcommand snapshot; and __fish_seen_subcommand_from restore" -l client-key-file -d 'Private key (PEM) of the client listener' -r -F
complete -c dcache -n "__fish_dcache_using_subcommand snapshot; and __fish_seen_subcommand_from restore" -l trusted-ca-file -d 'CA bundle (PEM) this node trusts when it calls a client URL over https (the join URL)' -r -F
complete -c dcache -n "__fish_dcache_using_subcommand snapshot; and __fish_seen_subcommand_from restore" -l peer-cert-file -d 'Certificate (PEM) this node presents to peers, as server and as client (mutual TLS)' -r -F
complete -c dcache -n "__fish_dcache_using_subcommand snapshot; and __fish_seen_subcommand_from restore" -l peer-key-file -d 'Private key (PEM) of the peer certificate' -r -F
complete -c dcache -n "__fish_dcache_using_subcommand snapshot; and __fish_seen_subcommand_from restore" -l peer-trusted-ca-file -d 'CA bundle (PEM) that signs every peer certificate; peers without one are refused' -r -F
complete -c dcache -n "__fish_dcache_using_subcommand snapshot; and __fish_seen_subcommand_from restore" -l admin-token -d 'Client token with admin access (repeatable): everything a read-write token may do, and membership changes (cluster join, remove, transfer-leadership)' -r
complete -c dcache -n "__fish_dcache_using_subcommand snapshot; and __fish_seen_subcommand_from restore" -l auth-token -d 'Client token with read-write access (repeatable): reads, writes, backups; with any token set, clients must send one (default: none, the client API is open)' -r
complete -c dcache -n "__fish_dcache_using_subcommand snapshot; and __fish_seen_subcommand_from restore" -l read-only-token -d 'Client token with read-only access (repeatable)' -r
complete -c dcache -n "__fish_dcache_using_subcommand snapshot; and __fish_seen_subcommand_from restore" -l join-token -d 'Token this node sends when it joins a cluster whose client API requires one (an admin token: joining changes the membership)' -r
complete -c dcache -n "__fish_dcache_using_subcommand snapshot; and __fish_seen_subcommand_from restore" -l max-connections -d 'Most connections serving requests per listener; further clients wait [default: 1024]' -r
complete -c dcache -n "__fish_dcache_using_subcommand snapshot; and __fish_seen_subcommand_from restore" -l max-watchers -d 'Most watch streams open at once, counted apart from max-connections (503 past it) [default: 256]' -r
complete -c dcache -n "__fish_dcache_using_subcommand snapshot; and __fish_seen_subcommand_from restore" -l max-header-bytes -d 'Largest accepted request head (request line + headers) in bytes [default: 16384]' -r
complete -c dcache -n "__fish_dcache_using_subcommand snapshot; and __fish_seen_subcommand_from restore" -l header-read-timeout -d 'How long a client may take to send a request head, e.g. 10s (cuts slow clients and idle connections) [default: 10s]' -r
complete -c dcache -n "__fish_dcache_using_subcommand snapshot; and __fish_seen_subcommand_from restore" -l max-key-bytes -d 'Longest accepted key in bytes [default: 4096]' -r
complete -c dcache -n "__fish_dcache_using_subcommand snapshot; and __fish_seen_subcommand_from restore" -l max-value-bytes -d 'Longest accepted value in bytes [default: 1048576]' -r
complete -c dcache -n "__fish_dcache_using_subcommand snapshot; and __fish_seen_subcommand_from restore" -l max-memory -d 'Memory bound of the cache (e.g. 64MiB, 2GiB; `off` = unbounded); keys are evicted past it [default: off]' -r
complete -c dcache -n "__fish_dcache_using_subcommand snapshot; and __fish_seen_subcommand_from restore" -l request-timeout -d 'How long a request may wait for the cluster (e.g. 5s) [default: 5s]' -r
complete -c dcache -n "__fish_dcache_using_subcommand snapshot; and __fish_seen_subcommand_from restore" -l snapshot-logs -d 'Snapshot the cache and purge the log every this many entries [default: 10000]' -r
complete -c dcache -n "__fish_dcache_using_subcommand snapshot; and __fish_seen_subcommand_from restore" -l heartbeat-interval-ms -d 'Leader heartbeat interval in milliseconds [default: 100]' -r
complete -c dcache -n "__fish_dcache_using_subcommand snapshot; and __fish_seen_subcommand_from restore" -l election-timeout-ms -d 'Minimum election timeout in milliseconds (the maximum is twice this) [default: 400]' -r
complete -c dcache -n "__fish_dcache_using_subcommand snapshot; and __fish_seen_subcommand_from restore" -l check -d 'Validate the configuration, print it, and exit without starting'
complete -c dcache -n "__fish_dcache_using_subcommand snapshot; and __fish_seen_subcommand_from restore" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dcache -n "__fish_dcache_using_subcommand snapshot; and __fish_seen_subcommand_from restore" -s V -l version -d 'Print version'
complete -c dcache -n "__fish_dcache_using_subcommand snapshot; and __fish_seen_subcommand_from help" -f -a "save" -d 'Download a consistent backup from the leader into FILE (every write acknowledged before the command started is in it)'
complete -c dcache -n "__fish_dcache_using_subcommand snapshot; and __fish_seen_subcommand_from help" -f -a "restore" -d 'Seed the empty data dir of one node of a new cluster from FILE. Give the node\'s configuration as for `dcache serve` (--config, or --name, --data-dir, --initial-cluster, ...); run it for every founding node with the same FILE, then start them'
complete -c dcache -n "__fish_dcache_using_subcommand snapshot; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c dcache -n "__fish_dcache_using_subcommand completions" -s h -l help -d 'Print help'
complete -c dcache -n "__fish_dcache_using_subcommand completions" -s V -l version -d 'Print version'
complete -c dcache -n "__fish_dcache_using_subcommand help; and not __fish_seen_subcommand_from serve set expire persist ttl watch get delete txn scan cluster dash bench local-cluster backup completions help" -f -a "serve" -d 'Run a dcache node (a one-node cluster on 127.0.0.1:8080 with no flags)'
complete -c dcache -n "__fish_dcache_using_subcommand help; and not __fish_seen_subcommand_from serve set expire persist ttl watch get delete txn scan cluster dash bench local-cluster backup completions help" -f -a "set" -d 'Store VALUE under KEY'
complete -c dcache -n "__fish_dcache_using_subcommand help; and not __fish_seen_subcommand_from serve set expire persist ttl watch get delete txn scan cluster dash bench local-cluster backup completions help" -f -a "expire" -d 'Make the existing KEY expire after DURATION, keeping its value (exit code 3 if missing)'
complete -c dcache -n "__fish_dcache_using_subcommand help; and not __fish_seen_subcommand_from serve set expire persist ttl watch get delete txn scan cluster dash bench local-cluster backup completions help" -f -a "persist" -d 'Remove KEY\'s expiry, keeping its value (exit code 3 if missing, 5 if it has none)'
complete -c dcache -n "__fish_dcache_using_subcommand help; and not __fish_seen_subcommand_from serve set expire persist ttl watch get delete txn scan cluster dash bench local-cluster backup completions help" -f -a "ttl" -d 'Print the time left before KEY expires (`none` without a TTL)'
complete -c dcache -n "__fish_dcache_using_subcommand help; and not __fish_seen_subcommand_from serve set expire persist ttl watch get delete txn scan cluster dash bench local-cluster backup completions help" -f -a "watch" -d 'Stream every change under PREFIX (sets, deletes, expiries, evictions) until Ctrl-C'
complete -c dcache -n "__fish_dcache_using_subcommand help; and not __fish_seen_subcommand_from serve set expire persist ttl watch get delete txn scan cluster dash bench local-cluster backup completions help" -f -a "get" -d 'Print the value stored under KEY (exit code 3 if it is missing); with --prefix, every key starting with KEY and its value (`KEY<TAB>VALUE`, escaped as in `scan`)'
complete -c dcache -n "__fish_dcache_using_subcommand help; and not __fish_seen_subcommand_from serve set expire persist ttl watch get delete txn scan cluster dash bench local-cluster backup completions help" -f -a "delete" -d 'Remove KEY; with --prefix, every key starting with KEY (asks first unless --yes)'
complete -c dcache -n "__fish_dcache_using_subcommand help; and not __fish_seen_subcommand_from serve set expire persist ttl watch get delete txn scan cluster dash bench local-cluster backup completions help" -f -a "txn" -d 'Apply several sets and deletes atomically, at one version (POST /api/v1/batch)'
complete -c dcache -n "__fish_dcache_using_subcommand help; and not __fish_seen_subcommand_from serve set expire persist ttl watch get delete txn scan cluster dash bench local-cluster backup completions help" -f -a "scan" -d 'List keys starting with PREFIX, in key order, with their values'
complete -c dcache -n "__fish_dcache_using_subcommand help; and not __fish_seen_subcommand_from serve set expire persist ttl watch get delete txn scan cluster dash bench local-cluster backup completions help" -f -a "cluster" -d 'Show and change the cluster'
complete -c dcache -n "__fish_dcache_using_subcommand help; and not __fish_seen_subcommand_from serve set expire persist ttl watch get delete txn scan cluster dash bench local-cluster backup completions help" -f -a "dash" -d 'Live terminal dashboard: every member\'s role, term, log positions, lag and keys'
complete -c dcache -n "__fish_dcache_using_subcommand help; and not __fish_seen_subcommand_from serve set expire persist ttl watch get delete txn scan cluster dash bench local-cluster backup completions help" -f -a "bench" -d 'Load-test a cluster: closed-loop clients, live progress, then a report with throughput, latency percentiles and histogram, a per-second timeline and errors by kind'
complete -c dcache -n "__fish_dcache_using_subcommand help; and not __fish_seen_subcommand_from serve set expire persist ttl watch get delete txn scan cluster dash bench local-cluster backup completions help" -f -a "local-cluster" -d 'Start a local N-node cluster on loopback in the foreground (Ctrl-C stops it)'
complete -c dcache -n "__fish_dcache_using_subcommand help; and not __fish_seen_subcommand_from serve set expire persist ttl watch get delete txn scan cluster dash bench local-cluster backup completions help" -f -a "backup" -d 'Back up the cache to a file, or seed a new cluster\'s data dir from one (`snapshot` is the older name of this command and still works)'
complete -c dcache -n "__fish_dcache_using_subcommand help; and not __fish_seen_subcommand_from serve set expire persist ttl watch get delete txn scan cluster dash bench local-cluster backup completions help" -f -a "completions" -d 'Print a shell completion script'
complete -c dcache -n "__fish_dcache_using_subcommand help; and not __fish_seen_subcommand_from serve set expire persist ttl watch get delete txn scan cluster dash bench local-cluster backup completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c dcache -n "__fish_dcache_using_subcommand help; and __fish_seen_subcommand_from cluster" -f -a "status" -d 'Every member\'s role, term, log indexes, lag and key count, asked of each member, and the quorum line (`2/3 voters up, quorum OK`). A report: exits 0 whatever it shows'
complete -c dcache -n "__fish_dcache_using_subcommand help; and __fish_seen_subcommand_from cluster" -f -a "health" -d 'Every member\'s /health, one line each, then the quorum line; exits 6 when a member is down or unhealthy or the voters have no quorum (for scripts and probes)'
complete -c dcache -n "__fish_dcache_using_subcommand help; and __fish_seen_subcommand_from cluster" -f -a "leader" -d 'The current leader'
complete -c dcache -n "__fish_dcache_using_subcommand help; and __fish_seen_subcommand_from cluster" -f -a "members" -d 'The members of the cluster'
complete -c dcache -n "__fish_dcache_using_subcommand help; and __fish_seen_subcommand_from cluster" -f -a "transfer-leadership" -d 'Move leadership to a member (by name or id); waits until it leads'
complete -c dcache -n "__fish_dcache_using_subcommand help; and __fish_seen_subcommand_from cluster" -f -a "remove" -d 'Remove a member (by name or id) from the cluster; the removed node stops itself'
complete -c dcache -n "__fish_dcache_using_subcommand help; and __fish_seen_subcommand_from backup" -f -a "save" -d 'Download a consistent backup from the leader into FILE (every write acknowledged before the command started is in it)'
complete -c dcache -n "__fish_dcache_using_subcommand help; and __fish_seen_subcommand_from backup" -f -a "restore" -d 'Seed the empty data dir of one node of a new cluster from FILE. Give the node\'s configuration as for `dcache serve` (--config, or --name, --data-dir, --initial-cluster, ...); run it for every founding node with the same FILE, then start them'
