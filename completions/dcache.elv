
use builtin;
use str;

set edit:completion:arg-completer[dcache] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'dcache'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'dcache'= {
            cand --server 'Client URL of any dcache node (http:// or https://, with host and port)'
            cand --timeout 'How long to wait for an answer (e.g. 500ms, 10s, 2m)'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --token 'Bearer token sent with every request, for nodes that require client authentication (default: none)'
            cand --cacert 'CA bundle (PEM) to trust for https:// servers, in addition to the system''s roots (default: the system''s roots only)'
            cand --endpoints 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand serve 'Run a dcache node (a one-node cluster on 127.0.0.1:8080 with no flags)'
            cand set 'Store VALUE under KEY'
            cand expire 'Make the existing KEY expire after DURATION, keeping its value (exit code 3 if missing)'
            cand persist 'Remove KEY''s expiry, keeping its value (exit code 3 if missing, 5 if it has none)'
            cand ttl 'Print the time left before KEY expires (`none` without a TTL)'
            cand watch 'Stream every change under PREFIX (sets, deletes, expiries, evictions) until Ctrl-C'
            cand get 'Print the value stored under KEY (exit code 3 if it is missing); with --prefix, every key starting with KEY and its value (`KEY<TAB>VALUE`, escaped as in `scan`)'
            cand delete 'Remove KEY; with --prefix, every key starting with KEY (asks first unless --yes)'
            cand txn 'Apply several sets and deletes atomically, at one version (POST /api/v1/batch)'
            cand batch 'Apply several sets and deletes atomically, at one version (POST /api/v1/batch)'
            cand scan 'List keys starting with PREFIX, in key order, with their values'
            cand cluster 'Show and change the cluster'
            cand dash 'Live terminal dashboard: every member''s role, term, log positions, lag and keys'
            cand bench 'Load-test a cluster: closed-loop clients, live progress, then a report with throughput, latency percentiles and histogram, a per-second timeline and errors by kind'
            cand local-cluster 'Start a local N-node cluster on loopback in the foreground (Ctrl-C stops it)'
            cand backup 'Back up the cache to a file, or seed a new cluster''s data dir from one (`snapshot` is the older name of this command and still works)'
            cand snapshot 'Back up the cache to a file, or seed a new cluster''s data dir from one (`snapshot` is the older name of this command and still works)'
            cand completions 'Print a shell completion script'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'dcache;serve'= {
            cand -c 'YAML config file (see config/dcache.yaml for every key; default: none, flags and built-in defaults only)'
            cand --config 'YAML config file (see config/dcache.yaml for every key; default: none, flags and built-in defaults only)'
            cand --log-level 'Log level or filter: error, warn, info, debug, trace (or e.g. `dcache=debug`) [default: info]'
            cand --name 'This node''s name; must appear in initial-cluster [default: node1]'
            cand --cluster-id 'Cluster identity; a data dir written for another cluster id is refused [default: dcache]'
            cand --data-dir 'Where the Raft log, vote and snapshots are kept [default: ./dcache-data]'
            cand --listen-client-urls 'URL the client API listens on [default: http://127.0.0.1:8080]'
            cand --advertise-client-urls 'Client URL other nodes and tools should use for this node (default: the listen-client-urls URL)'
            cand --listen-resp-urls 'URL the Redis-protocol (RESP) listener binds, `redis://HOST:PORT`; empty disables it [default: redis://127.0.0.1:6379]'
            cand --advertise-resp-urls 'RESP URL other nodes and tools should use for this node (default: the listen-resp-urls URL)'
            cand --listen-peer-urls 'URL the peer (Raft) listener binds [default: http://127.0.0.1:8081]'
            cand --initial-advertise-peer-urls 'Peer URL other nodes should use for this node (default: the listen-peer-urls URL)'
            cand --initial-cluster 'Founding members: name=peer-url,... (identical on every founding node; default: this node alone, at its advertised peer URL)'
            cand --initial-cluster-state '`new` to found the cluster in initial-cluster, `existing` to join one [default: new]'
            cand --join 'Client URL of a running cluster to join on first start (default: join none; found or restart the cluster in initial-cluster)'
            cand --peer-token 'Shared secret that every peer request must carry (same on every node; >= 16 chars; default: none, peers are not authenticated by token)'
            cand --client-cert-file 'Certificate (PEM) of the client listener; needs an https:// listen-client-urls'
            cand --client-key-file 'Private key (PEM) of the client listener'
            cand --trusted-ca-file 'CA bundle (PEM) this node trusts when it calls a client URL over https (the join URL)'
            cand --peer-cert-file 'Certificate (PEM) this node presents to peers, as server and as client (mutual TLS)'
            cand --peer-key-file 'Private key (PEM) of the peer certificate'
            cand --peer-trusted-ca-file 'CA bundle (PEM) that signs every peer certificate; peers without one are refused'
            cand --admin-token 'Client token with admin access (repeatable): everything a read-write token may do, and membership changes (cluster join, remove, transfer-leadership)'
            cand --auth-token 'Client token with read-write access (repeatable): reads, writes, backups; with any token set, clients must send one (default: none, the client API is open)'
            cand --read-only-token 'Client token with read-only access (repeatable)'
            cand --join-token 'Token this node sends when it joins a cluster whose client API requires one (an admin token: joining changes the membership)'
            cand --max-connections 'Most connections serving requests per listener; further clients wait [default: 1024]'
            cand --max-watchers 'Most watch streams open at once, counted apart from max-connections (503 past it) [default: 256]'
            cand --max-header-bytes 'Largest accepted request head (request line + headers) in bytes [default: 16384]'
            cand --header-read-timeout 'How long a client may take to send a request head, e.g. 10s (cuts slow clients and idle connections) [default: 10s]'
            cand --max-key-bytes 'Longest accepted key in bytes [default: 4096]'
            cand --max-value-bytes 'Longest accepted value in bytes [default: 1048576]'
            cand --max-memory 'Memory bound of the cache (e.g. 64MiB, 2GiB; `off` = unbounded); keys are evicted past it [default: off]'
            cand --request-timeout 'How long a request may wait for the cluster (e.g. 5s) [default: 5s]'
            cand --snapshot-logs 'Snapshot the cache and purge the log every this many entries [default: 10000]'
            cand --heartbeat-interval-ms 'Leader heartbeat interval in milliseconds [default: 100]'
            cand --election-timeout-ms 'Minimum election timeout in milliseconds (the maximum is twice this) [default: 400]'
            cand --check 'Validate the configuration, print it, and exit without starting'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dcache;set'= {
            cand --file 'Read the value from this file (for values too large for an argument)'
            cand --ttl 'Expire the key after this long (e.g. 30s, 5m; at least 1ms); the leader stamps the deadline (default: the key never expires)'
            cand --if-version 'Only write if the key is at this version (compare-and-set; default: write whatever the version)'
            cand --server 'Client URL of any dcache node (http:// or https://, with host and port)'
            cand --timeout 'How long to wait for an answer (e.g. 500ms, 10s, 2m)'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --token 'Bearer token sent with every request, for nodes that require client authentication (default: none)'
            cand --cacert 'CA bundle (PEM) to trust for https:// servers, in addition to the system''s roots (default: the system''s roots only)'
            cand --endpoints 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)'
            cand --if-absent 'Only write if the key does not exist'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dcache;expire'= {
            cand --server 'Client URL of any dcache node (http:// or https://, with host and port)'
            cand --timeout 'How long to wait for an answer (e.g. 500ms, 10s, 2m)'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --token 'Bearer token sent with every request, for nodes that require client authentication (default: none)'
            cand --cacert 'CA bundle (PEM) to trust for https:// servers, in addition to the system''s roots (default: the system''s roots only)'
            cand --endpoints 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dcache;persist'= {
            cand --server 'Client URL of any dcache node (http:// or https://, with host and port)'
            cand --timeout 'How long to wait for an answer (e.g. 500ms, 10s, 2m)'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --token 'Bearer token sent with every request, for nodes that require client authentication (default: none)'
            cand --cacert 'CA bundle (PEM) to trust for https:// servers, in addition to the system''s roots (default: the system''s roots only)'
            cand --endpoints 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dcache;ttl'= {
            cand --consistency 'Read consistency'
            cand --server 'Client URL of any dcache node (http:// or https://, with host and port)'
            cand --timeout 'How long to wait for an answer (e.g. 500ms, 10s, 2m)'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --token 'Bearer token sent with every request, for nodes that require client authentication (default: none)'
            cand --cacert 'CA bundle (PEM) to trust for https:// servers, in addition to the system''s roots (default: the system''s roots only)'
            cand --endpoints 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dcache;watch'= {
            cand --from-version 'Resume after this version (replays kept history first; default: only changes from now on)'
            cand --server 'Client URL of any dcache node (http:// or https://, with host and port)'
            cand --timeout 'How long to wait for an answer (e.g. 500ms, 10s, 2m)'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --token 'Bearer token sent with every request, for nodes that require client authentication (default: none)'
            cand --cacert 'CA bundle (PEM) to trust for https:// servers, in addition to the system''s roots (default: the system''s roots only)'
            cand --endpoints 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dcache;get'= {
            cand --limit 'With --prefix: most keys to list in all (default: every one)'
            cand --consistency 'Read consistency'
            cand --server 'Client URL of any dcache node (http:// or https://, with host and port)'
            cand --timeout 'How long to wait for an answer (e.g. 500ms, 10s, 2m)'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --token 'Bearer token sent with every request, for nodes that require client authentication (default: none)'
            cand --cacert 'CA bundle (PEM) to trust for https:// servers, in addition to the system''s roots (default: the system''s roots only)'
            cand --endpoints 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)'
            cand --prefix 'Treat KEY as a prefix and list every key under it (in pages, as `scan --all`)'
            cand --keys-only 'Print keys only, without values'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dcache;delete'= {
            cand --if-version 'Only delete if the key is at this version (default: whatever the version)'
            cand --server 'Client URL of any dcache node (http:// or https://, with host and port)'
            cand --timeout 'How long to wait for an answer (e.g. 500ms, 10s, 2m)'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --token 'Bearer token sent with every request, for nodes that require client authentication (default: none)'
            cand --cacert 'CA bundle (PEM) to trust for https:// servers, in addition to the system''s roots (default: the system''s roots only)'
            cand --endpoints 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)'
            cand --prefix 'Treat KEY as a prefix and delete every key under it'
            cand -y 'Do not ask for confirmation (needed when standard input is not a terminal)'
            cand --yes 'Do not ask for confirmation (needed when standard input is not a terminal)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dcache;txn'= {
            cand --server 'Client URL of any dcache node (http:// or https://, with host and port)'
            cand --timeout 'How long to wait for an answer (e.g. 500ms, 10s, 2m)'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --token 'Bearer token sent with every request, for nodes that require client authentication (default: none)'
            cand --cacert 'CA bundle (PEM) to trust for https:// servers, in addition to the system''s roots (default: the system''s roots only)'
            cand --endpoints 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dcache;batch'= {
            cand --server 'Client URL of any dcache node (http:// or https://, with host and port)'
            cand --timeout 'How long to wait for an answer (e.g. 500ms, 10s, 2m)'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --token 'Bearer token sent with every request, for nodes that require client authentication (default: none)'
            cand --cacert 'CA bundle (PEM) to trust for https:// servers, in addition to the system''s roots (default: the system''s roots only)'
            cand --endpoints 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dcache;scan'= {
            cand --limit 'Most keys to list in all (fetched in pages of up to 10000)'
            cand --consistency 'Read consistency'
            cand --server 'Client URL of any dcache node (http:// or https://, with host and port)'
            cand --timeout 'How long to wait for an answer (e.g. 500ms, 10s, 2m)'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --token 'Bearer token sent with every request, for nodes that require client authentication (default: none)'
            cand --cacert 'CA bundle (PEM) to trust for https:// servers, in addition to the system''s roots (default: the system''s roots only)'
            cand --endpoints 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)'
            cand --all 'List every key under PREFIX, however many'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dcache;cluster'= {
            cand --server 'Client URL of any dcache node (http:// or https://, with host and port)'
            cand --timeout 'How long to wait for an answer (e.g. 500ms, 10s, 2m)'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --token 'Bearer token sent with every request, for nodes that require client authentication (default: none)'
            cand --cacert 'CA bundle (PEM) to trust for https:// servers, in addition to the system''s roots (default: the system''s roots only)'
            cand --endpoints 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand status 'Every member''s role, term, log indexes, lag and key count, asked of each member, and the quorum line (`2/3 voters up, quorum OK`). A report: exits 0 whatever it shows'
            cand health 'Every member''s /health, one line each, then the quorum line; exits 6 when a member is down or unhealthy or the voters have no quorum (for scripts and probes)'
            cand leader 'The current leader'
            cand members 'The members of the cluster'
            cand transfer-leadership 'Move leadership to a member (by name or id); waits until it leads'
            cand remove 'Remove a member (by name or id) from the cluster; the removed node stops itself'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'dcache;cluster;status'= {
            cand --server 'Client URL of any dcache node (http:// or https://, with host and port)'
            cand --timeout 'How long to wait for an answer (e.g. 500ms, 10s, 2m)'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --token 'Bearer token sent with every request, for nodes that require client authentication (default: none)'
            cand --cacert 'CA bundle (PEM) to trust for https:// servers, in addition to the system''s roots (default: the system''s roots only)'
            cand --endpoints 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dcache;cluster;health'= {
            cand --server 'Client URL of any dcache node (http:// or https://, with host and port)'
            cand --timeout 'How long to wait for an answer (e.g. 500ms, 10s, 2m)'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --token 'Bearer token sent with every request, for nodes that require client authentication (default: none)'
            cand --cacert 'CA bundle (PEM) to trust for https:// servers, in addition to the system''s roots (default: the system''s roots only)'
            cand --endpoints 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dcache;cluster;leader'= {
            cand --server 'Client URL of any dcache node (http:// or https://, with host and port)'
            cand --timeout 'How long to wait for an answer (e.g. 500ms, 10s, 2m)'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --token 'Bearer token sent with every request, for nodes that require client authentication (default: none)'
            cand --cacert 'CA bundle (PEM) to trust for https:// servers, in addition to the system''s roots (default: the system''s roots only)'
            cand --endpoints 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dcache;cluster;members'= {
            cand --server 'Client URL of any dcache node (http:// or https://, with host and port)'
            cand --timeout 'How long to wait for an answer (e.g. 500ms, 10s, 2m)'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --token 'Bearer token sent with every request, for nodes that require client authentication (default: none)'
            cand --cacert 'CA bundle (PEM) to trust for https:// servers, in addition to the system''s roots (default: the system''s roots only)'
            cand --endpoints 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dcache;cluster;transfer-leadership'= {
            cand --server 'Client URL of any dcache node (http:// or https://, with host and port)'
            cand --timeout 'How long to wait for an answer (e.g. 500ms, 10s, 2m)'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --token 'Bearer token sent with every request, for nodes that require client authentication (default: none)'
            cand --cacert 'CA bundle (PEM) to trust for https:// servers, in addition to the system''s roots (default: the system''s roots only)'
            cand --endpoints 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dcache;cluster;remove'= {
            cand --server 'Client URL of any dcache node (http:// or https://, with host and port)'
            cand --timeout 'How long to wait for an answer (e.g. 500ms, 10s, 2m)'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --token 'Bearer token sent with every request, for nodes that require client authentication (default: none)'
            cand --cacert 'CA bundle (PEM) to trust for https:// servers, in addition to the system''s roots (default: the system''s roots only)'
            cand --endpoints 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dcache;cluster;help'= {
            cand status 'Every member''s role, term, log indexes, lag and key count, asked of each member, and the quorum line (`2/3 voters up, quorum OK`). A report: exits 0 whatever it shows'
            cand health 'Every member''s /health, one line each, then the quorum line; exits 6 when a member is down or unhealthy or the voters have no quorum (for scripts and probes)'
            cand leader 'The current leader'
            cand members 'The members of the cluster'
            cand transfer-leadership 'Move leadership to a member (by name or id); waits until it leads'
            cand remove 'Remove a member (by name or id) from the cluster; the removed node stops itself'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'dcache;cluster;help;status'= {
        }
        &'dcache;cluster;help;health'= {
        }
        &'dcache;cluster;help;leader'= {
        }
        &'dcache;cluster;help;members'= {
        }
        &'dcache;cluster;help;transfer-leadership'= {
        }
        &'dcache;cluster;help;remove'= {
        }
        &'dcache;cluster;help;help'= {
        }
        &'dcache;dash'= {
            cand --interval 'How often every node is polled (e.g. 250ms, 1s, 5s; at least 50ms)'
            cand --server 'Client URL of any dcache node (http:// or https://, with host and port)'
            cand --timeout 'How long to wait for an answer (e.g. 500ms, 10s, 2m)'
            cand --token 'Bearer token sent with every request, for nodes that require client authentication (default: none)'
            cand --cacert 'CA bundle (PEM) to trust for https:// servers, in addition to the system''s roots (default: the system''s roots only)'
            cand --endpoints 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)'
            cand -o 'Output format'
            cand --output 'Output format'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dcache;bench'= {
            cand --clients 'Concurrent clients, each with one request in flight (at least 1)'
            cand --duration 'How long to run (e.g. 10s); ignored with --requests'
            cand --requests 'Stop after this many requests instead of after --duration (default: run for --duration)'
            cand --workload 'What to send'
            cand --read-ratio 'Fraction of gets in the mixed workload (0 to 1)'
            cand --key-space 'Number of distinct keys (at least 1)'
            cand --key-prefix 'Text in front of every key the run writes or reads: keys are PREFIX00000000, PREFIX00000001, ... up to --key-space (any text; pick one no application uses)'
            cand --value-size 'Value size in bytes'
            cand --consistency 'Consistency of the gets'
            cand --server 'Client URL of any dcache node (http:// or https://, with host and port)'
            cand --timeout 'How long to wait for an answer (e.g. 500ms, 10s, 2m)'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --token 'Bearer token sent with every request, for nodes that require client authentication (default: none)'
            cand --cacert 'CA bundle (PEM) to trust for https:// servers, in addition to the system''s roots (default: the system''s roots only)'
            cand --endpoints 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)'
            cand --no-prefill 'Skip writing the key space before a get or mixed run'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dcache;local-cluster'= {
            cand --nodes 'How many nodes (1-9)'
            cand --base-port 'Client port of node1; node K uses base+2(K-1) for clients, the next port for peers and base+1000+(K-1) for the Redis protocol'
            cand --data-dir 'Where the nodes keep their data and logs'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dcache;backup'= {
            cand --server 'Client URL of any dcache node (http:// or https://, with host and port)'
            cand --timeout 'How long to wait for an answer (e.g. 500ms, 10s, 2m)'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --token 'Bearer token sent with every request, for nodes that require client authentication (default: none)'
            cand --cacert 'CA bundle (PEM) to trust for https:// servers, in addition to the system''s roots (default: the system''s roots only)'
            cand --endpoints 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand save 'Download a consistent backup from the leader into FILE (every write acknowledged before the command started is in it)'
            cand restore 'Seed the empty data dir of one node of a new cluster from FILE. Give the node''s configuration as for `dcache serve` (--config, or --name, --data-dir, --initial-cluster, ...); run it for every founding node with the same FILE, then start them'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'dcache;snapshot'= {
            cand --server 'Client URL of any dcache node (http:// or https://, with host and port)'
            cand --timeout 'How long to wait for an answer (e.g. 500ms, 10s, 2m)'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --token 'Bearer token sent with every request, for nodes that require client authentication (default: none)'
            cand --cacert 'CA bundle (PEM) to trust for https:// servers, in addition to the system''s roots (default: the system''s roots only)'
            cand --endpoints 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand save 'Download a consistent backup from the leader into FILE (every write acknowledged before the command started is in it)'
            cand restore 'Seed the empty data dir of one node of a new cluster from FILE. Give the node''s configuration as for `dcache serve` (--config, or --name, --data-dir, --initial-cluster, ...); run it for every founding node with the same FILE, then start them'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'dcache;backup;save'= {
            cand --server 'Client URL of any dcache node (http:// or https://, with host and port)'
            cand --timeout 'How long to wait for an answer (e.g. 500ms, 10s, 2m)'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --token 'Bearer token sent with every request, for nodes that require client authentication (default: none)'
            cand --cacert 'CA bundle (PEM) to trust for https:// servers, in addition to the system''s roots (default: the system''s roots only)'
            cand --endpoints 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dcache;snapshot;save'= {
            cand --server 'Client URL of any dcache node (http:// or https://, with host and port)'
            cand --timeout 'How long to wait for an answer (e.g. 500ms, 10s, 2m)'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --token 'Bearer token sent with every request, for nodes that require client authentication (default: none)'
            cand --cacert 'CA bundle (PEM) to trust for https:// servers, in addition to the system''s roots (default: the system''s roots only)'
            cand --endpoints 'Client URLs of several members (comma-separated), tried in turn when one is down or has no leader; replaces --server. `dash` discovers the cluster from them and `bench` spreads its clients over them (default: --server alone)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dcache;backup;restore'= {
            cand -o 'Output format of the summary'
            cand --output 'Output format of the summary'
            cand -c 'YAML config file (see config/dcache.yaml for every key; default: none, flags and built-in defaults only)'
            cand --config 'YAML config file (see config/dcache.yaml for every key; default: none, flags and built-in defaults only)'
            cand --log-level 'Log level or filter: error, warn, info, debug, trace (or e.g. `dcache=debug`) [default: info]'
            cand --name 'This node''s name; must appear in initial-cluster [default: node1]'
            cand --cluster-id 'Cluster identity; a data dir written for another cluster id is refused [default: dcache]'
            cand --data-dir 'Where the Raft log, vote and snapshots are kept [default: ./dcache-data]'
            cand --listen-client-urls 'URL the client API listens on [default: http://127.0.0.1:8080]'
            cand --advertise-client-urls 'Client URL other nodes and tools should use for this node (default: the listen-client-urls URL)'
            cand --listen-resp-urls 'URL the Redis-protocol (RESP) listener binds, `redis://HOST:PORT`; empty disables it [default: redis://127.0.0.1:6379]'
            cand --advertise-resp-urls 'RESP URL other nodes and tools should use for this node (default: the listen-resp-urls URL)'
            cand --listen-peer-urls 'URL the peer (Raft) listener binds [default: http://127.0.0.1:8081]'
            cand --initial-advertise-peer-urls 'Peer URL other nodes should use for this node (default: the listen-peer-urls URL)'
            cand --initial-cluster 'Founding members: name=peer-url,... (identical on every founding node; default: this node alone, at its advertised peer URL)'
            cand --initial-cluster-state '`new` to found the cluster in initial-cluster, `existing` to join one [default: new]'
            cand --join 'Client URL of a running cluster to join on first start (default: join none; found or restart the cluster in initial-cluster)'
            cand --peer-token 'Shared secret that every peer request must carry (same on every node; >= 16 chars; default: none, peers are not authenticated by token)'
            cand --client-cert-file 'Certificate (PEM) of the client listener; needs an https:// listen-client-urls'
            cand --client-key-file 'Private key (PEM) of the client listener'
            cand --trusted-ca-file 'CA bundle (PEM) this node trusts when it calls a client URL over https (the join URL)'
            cand --peer-cert-file 'Certificate (PEM) this node presents to peers, as server and as client (mutual TLS)'
            cand --peer-key-file 'Private key (PEM) of the peer certificate'
            cand --peer-trusted-ca-file 'CA bundle (PEM) that signs every peer certificate; peers without one are refused'
            cand --admin-token 'Client token with admin access (repeatable): everything a read-write token may do, and membership changes (cluster join, remove, transfer-leadership)'
            cand --auth-token 'Client token with read-write access (repeatable): reads, writes, backups; with any token set, clients must send one (default: none, the client API is open)'
            cand --read-only-token 'Client token with read-only access (repeatable)'
            cand --join-token 'Token this node sends when it joins a cluster whose client API requires one (an admin token: joining changes the membership)'
            cand --max-connections 'Most connections serving requests per listener; further clients wait [default: 1024]'
            cand --max-watchers 'Most watch streams open at once, counted apart from max-connections (503 past it) [default: 256]'
            cand --max-header-bytes 'Largest accepted request head (request line + headers) in bytes [default: 16384]'
            cand --header-read-timeout 'How long a client may take to send a request head, e.g. 10s (cuts slow clients and idle connections) [default: 10s]'
            cand --max-key-bytes 'Longest accepted key in bytes [default: 4096]'
            cand --max-value-bytes 'Longest accepted value in bytes [default: 1048576]'
            cand --max-memory 'Memory bound of the cache (e.g. 64MiB, 2GiB; `off` = unbounded); keys are evicted past it [default: off]'
            cand --request-timeout 'How long a request may wait for the cluster (e.g. 5s) [default: 5s]'
            cand --snapshot-logs 'Snapshot the cache and purge the log every this many entries [default: 10000]'
            cand --heartbeat-interval-ms 'Leader heartbeat interval in milliseconds [default: 100]'
            cand --election-timeout-ms 'Minimum election timeout in milliseconds (the maximum is twice this) [default: 400]'
            cand --check 'Validate the configuration, print it, and exit without starting'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dcache;snapshot;restore'= {
            cand -o 'Output format of the summary'
            cand --output 'Output format of the summary'
            cand -c 'YAML config file (see config/dcache.yaml for every key; default: none, flags and built-in defaults only)'
            cand --config 'YAML config file (see config/dcache.yaml for every key; default: none, flags and built-in defaults only)'
            cand --log-level 'Log level or filter: error, warn, info, debug, trace (or e.g. `dcache=debug`) [default: info]'
            cand --name 'This node''s name; must appear in initial-cluster [default: node1]'
            cand --cluster-id 'Cluster identity; a data dir written for another cluster id is refused [default: dcache]'
            cand --data-dir 'Where the Raft log, vote and snapshots are kept [default: ./dcache-data]'
            cand --listen-client-urls 'URL the client API listens on [default: http://127.0.0.1:8080]'
            cand --advertise-client-urls 'Client URL other nodes and tools should use for this node (default: the listen-client-urls URL)'
            cand --listen-resp-urls 'URL the Redis-protocol (RESP) listener binds, `redis://HOST:PORT`; empty disables it [default: redis://127.0.0.1:6379]'
            cand --advertise-resp-urls 'RESP URL other nodes and tools should use for this node (default: the listen-resp-urls URL)'
            cand --listen-peer-urls 'URL the peer (Raft) listener binds [default: http://127.0.0.1:8081]'
            cand --initial-advertise-peer-urls 'Peer URL other nodes should use for this node (default: the listen-peer-urls URL)'
            cand --initial-cluster 'Founding members: name=peer-url,... (identical on every founding node; default: this node alone, at its advertised peer URL)'
            cand --initial-cluster-state '`new` to found the cluster in initial-cluster, `existing` to join one [default: new]'
            cand --join 'Client URL of a running cluster to join on first start (default: join none; found or restart the cluster in initial-cluster)'
            cand --peer-token 'Shared secret that every peer request must carry (same on every node; >= 16 chars; default: none, peers are not authenticated by token)'
            cand --client-cert-file 'Certificate (PEM) of the client listener; needs an https:// listen-client-urls'
            cand --client-key-file 'Private key (PEM) of the client listener'
            cand --trusted-ca-file 'CA bundle (PEM) this node trusts when it calls a client URL over https (the join URL)'
            cand --peer-cert-file 'Certificate (PEM) this node presents to peers, as server and as client (mutual TLS)'
            cand --peer-key-file 'Private key (PEM) of the peer certificate'
            cand --peer-trusted-ca-file 'CA bundle (PEM) that signs every peer certificate; peers without one are refused'
            cand --admin-token 'Client token with admin access (repeatable): everything a read-write token may do, and membership changes (cluster join, remove, transfer-leadership)'
            cand --auth-token 'Client token with read-write access (repeatable): reads, writes, backups; with any token set, clients must send one (default: none, the client API is open)'
            cand --read-only-token 'Client token with read-only access (repeatable)'
            cand --join-token 'Token this node sends when it joins a cluster whose client API requires one (an admin token: joining changes the membership)'
            cand --max-connections 'Most connections serving requests per listener; further clients wait [default: 1024]'
            cand --max-watchers 'Most watch streams open at once, counted apart from max-connections (503 past it) [default: 256]'
            cand --max-header-bytes 'Largest accepted request head (request line + headers) in bytes [default: 16384]'
            cand --header-read-timeout 'How long a client may take to send a request head, e.g. 10s (cuts slow clients and idle connections) [default: 10s]'
            cand --max-key-bytes 'Longest accepted key in bytes [default: 4096]'
            cand --max-value-bytes 'Longest accepted value in bytes [default: 1048576]'
            cand --max-memory 'Memory bound of the cache (e.g. 64MiB, 2GiB; `off` = unbounded); keys are evicted past it [default: off]'
            cand --request-timeout 'How long a request may wait for the cluster (e.g. 5s) [default: 5s]'
            cand --snapshot-logs 'Snapshot the cache and purge the log every this many entries [default: 10000]'
            cand --heartbeat-interval-ms 'Leader heartbeat interval in milliseconds [default: 100]'
            cand --election-timeout-ms 'Minimum election timeout in milliseconds (the maximum is twice this) [default: 400]'
            cand --check 'Validate the configuration, print it, and exit without starting'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dcache;backup;help'= {
            cand save 'Download a consistent backup from the leader into FILE (every write acknowledged before the command started is in it)'
            cand restore 'Seed the empty data dir of one node of a new cluster from FILE. Give the node''s configuration as for `dcache serve` (--config, or --name, --data-dir, --initial-cluster, ...); run it for every founding node with the same FILE, then start them'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'dcache;backup;help;save'= {
        }
        &'dcache;backup;help;restore'= {
        }
        &'dcache;backup;help;help'= {
        }
        &'dcache;snapshot;help'= {
            cand save 'Download a consistent backup from the leader into FILE (every write acknowledged before the command started is in it)'
            cand restore 'Seed the empty data dir of one node of a new cluster from FILE. Give the node''s configuration as for `dcache serve` (--config, or --name, --data-dir, --initial-cluster, ...); run it for every founding node with the same FILE, then start them'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'dcache;snapshot;help;save'= {
        }
        &'dcache;snapshot;help;restore'= {
        }
        &'dcache;snapshot;help;help'= {
        }
        &'dcache;completions'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dcache;help'= {
            cand serve 'Run a dcache node (a one-node cluster on 127.0.0.1:8080 with no flags)'
            cand set 'Store VALUE under KEY'
            cand expire 'Make the existing KEY expire after DURATION, keeping its value (exit code 3 if missing)'
            cand persist 'Remove KEY''s expiry, keeping its value (exit code 3 if missing, 5 if it has none)'
            cand ttl 'Print the time left before KEY expires (`none` without a TTL)'
            cand watch 'Stream every change under PREFIX (sets, deletes, expiries, evictions) until Ctrl-C'
            cand get 'Print the value stored under KEY (exit code 3 if it is missing); with --prefix, every key starting with KEY and its value (`KEY<TAB>VALUE`, escaped as in `scan`)'
            cand delete 'Remove KEY; with --prefix, every key starting with KEY (asks first unless --yes)'
            cand txn 'Apply several sets and deletes atomically, at one version (POST /api/v1/batch)'
            cand scan 'List keys starting with PREFIX, in key order, with their values'
            cand cluster 'Show and change the cluster'
            cand dash 'Live terminal dashboard: every member''s role, term, log positions, lag and keys'
            cand bench 'Load-test a cluster: closed-loop clients, live progress, then a report with throughput, latency percentiles and histogram, a per-second timeline and errors by kind'
            cand local-cluster 'Start a local N-node cluster on loopback in the foreground (Ctrl-C stops it)'
            cand backup 'Back up the cache to a file, or seed a new cluster''s data dir from one (`snapshot` is the older name of this command and still works)'
            cand completions 'Print a shell completion script'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'dcache;help;serve'= {
        }
        &'dcache;help;set'= {
        }
        &'dcache;help;expire'= {
        }
        &'dcache;help;persist'= {
        }
        &'dcache;help;ttl'= {
        }
        &'dcache;help;watch'= {
        }
        &'dcache;help;get'= {
        }
        &'dcache;help;delete'= {
        }
        &'dcache;help;txn'= {
        }
        &'dcache;help;scan'= {
        }
        &'dcache;help;cluster'= {
            cand status 'Every member''s role, term, log indexes, lag and key count, asked of each member, and the quorum line (`2/3 voters up, quorum OK`). A report: exits 0 whatever it shows'
            cand health 'Every member''s /health, one line each, then the quorum line; exits 6 when a member is down or unhealthy or the voters have no quorum (for scripts and probes)'
            cand leader 'The current leader'
            cand members 'The members of the cluster'
            cand transfer-leadership 'Move leadership to a member (by name or id); waits until it leads'
            cand remove 'Remove a member (by name or id) from the cluster; the removed node stops itself'
        }
        &'dcache;help;cluster;status'= {
        }
        &'dcache;help;cluster;health'= {
        }
        &'dcache;help;cluster;leader'= {
        }
        &'dcache;help;cluster;members'= {
        }
        &'dcache;help;cluster;transfer-leadership'= {
        }
        &'dcache;help;cluster;remove'= {
        }
        &'dcache;help;dash'= {
        }
        &'dcache;help;bench'= {
        }
        &'dcache;help;local-cluster'= {
        }
        &'dcache;help;backup'= {
            cand save 'Download a consistent backup from the leader into FILE (every write acknowledged before the command started is in it)'
            cand restore 'Seed the empty data dir of one node of a new cluster from FILE. Give the node''s configuration as for `dcache serve` (--config, or --name, --data-dir, --initial-cluster, ...); run it for every founding node with the same FILE, then start them'
        }
        &'dcache;help;backup;save'= {
        }
        &'dcache;help;backup;restore'= {
        }
        &'dcache;help;completions'= {
        }
        &'dcache;help;help'= {
        }
    ]
    $completions[$command]
}
