"""Deterministic generator of synthetic but realistic-looking postmortems.

`generate_records(n, seed)` yields canonical record dicts (the fields of
`lessons.ingest.record.PostmortemRecord`, see docs/format.md); `write_corpus()` renders them
as Markdown (with YAML front matter and sections) or YAML files, so an import exercises the
real parsers.

Realism, in the ways that matter for the benchmarks:

- Titles and summaries are combined from vocabularies of components (a few hundred), symptoms,
  triggers, events, teams and cause families, with numbers, times and durations, so almost
  every failure text is unique and the encoder does real work.
- Each failure has ~3 causes (root, trigger, contributing) drawn, Zipf-like, from a fixed pool
  of a few hundred cause names, so causes are shared entities and their texts repeat (the
  import's vector cache legitimately serves them); 2-3 lessons and 2-3 actions that are mostly
  unique; 1-2 practices named after the root cause, shared with every failure of that cause;
  1-3 components, a team, tags, a timeline, and sometimes experiments.
- About 6% of failures declare `recurrence_of` an earlier failure with the same root cause.

Document `i` depends only on the seed and documents `< i`, so the first 10,000 documents of a
100,000 corpus are the 10,000 corpus (the search benchmark relies on that for its cache).

    python bench/generate.py OUT_DIR --n 1000 [--seed 1] [--check]

`--check` parses every written file back with the real parsers and compares it with the
record it was rendered from.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from lessons.graph.models import slugify


def _words(text: str) -> list[str]:
    """A vocabulary written as one string of space-separated words."""
    return text.split()


def _options(text: str) -> list[str]:
    """A vocabulary written as one string of '|'-separated phrases."""
    return text.split("|")


DEFAULT_SEED = 1
MARKDOWN_SHARE = 0.6  # the rest is YAML

# -- vocabularies -------------------------------------------------------------------------

COMPONENT_PREFIXES = _words(
    "checkout payments orders catalog search inventory pricing cart auth identity session "
    "notifications email sms push billing invoicing ledger fraud risk recommendations reviews "
    "media image-resizer video-transcoder shipping warehouse returns loyalty promotions "
    "analytics reporting feature-flags config deploy ci build logging metrics tracing gateway "
    "edge cdn dns sso admin partner merchant mobile-bff web-frontend support-tools chat maps "
    "geo tax currency kyc subscriptions webhooks"
)
COMPONENT_SUFFIXES = _words(
    "api service db worker queue cache gateway scheduler indexer cluster proxy consumer cron "
    "store pipeline"
)
INFRA_COMPONENTS = _words(
    "kafka redis-main postgres-primary kubernetes-control-plane etcd vault nginx-ingress istio "
    "terraform-state s3-assets-bucket rabbitmq elasticsearch memcached pgbouncer cloudflare "
    "consul zookeeper clickhouse"
)

TEAMS = _options(
    "Payments|Checkout|Orders|Catalog|Search|Platform|SRE|Infrastructure|Data Platform|"
    "Identity|Mobile|Web|Growth|Notifications|Billing|Fraud|Logistics|Security|"
    "Developer Experience|Networking|Storage|Observability|Merchant Experience|Support Tools|"
    "ML Platform"
)

FIRST_NAMES = _words(
    "priya marco amara kenji lena tomas aisha diego mei oskar fatima jonas sofia ravi hana "
    "lucas nadia pavel ines yusuf grace tariq elena noah zara felix imani arjun clara mateo"
)

# (title noun, summary verb phrase after "began ...")
SYMPTOMS = (
    ("elevated 5xx errors", "returning HTTP 500s"),
    ("502 Bad Gateway errors", "answering with 502 Bad Gateway"),
    ("request timeouts", "timing out"),
    ("p99 latency spike", "responding with a p99 latency above {secs} seconds"),
    ("crash loop", "crash-looping"),
    ("OOM kills", "getting OOM-killed"),
    ("stale data", "serving data that was up to {mins} minutes stale"),
    ("duplicate charges", "charging some customers twice"),
    ("message backlog", "falling behind on its queue"),
    ("login failures", "rejecting valid logins"),
    ("silent data loss", "silently dropping writes"),
    ("regional outage", "failing in {region}"),
    ("full outage", "unavailable"),
    ("missing notifications", "not sending notifications"),
    ("incorrect prices", "showing incorrect prices"),
    ("slow page loads", "loading pages slowly"),
    ("failed deploys", "failing every deploy"),
    ("replication lag", "lagging behind the primary by {mins} minutes"),
    ("disk pressure", "running out of disk"),
    ("TLS handshake failures", "failing TLS handshakes"),
    ("CPU saturation", "pinned at 100% CPU"),
    ("connection refused errors", "refusing connections"),
    ("empty search results", "returning empty results"),
    ("corrupted exports", "writing corrupted export files"),
    ("scheduled job failures", "failing its scheduled jobs"),
    ("unexpected logouts", "logging users out"),
    ("throttling of legitimate traffic", "throttling legitimate traffic"),
    ("cascading failure", "taking its dependants down with it"),
    ("webhook delivery failures", "failing to deliver webhooks"),
    ("missing orders", "losing orders between the cart and the ledger"),
)

TRIGGERS = (
    "a routine deploy",
    "a configuration push",
    "a traffic spike",
    "a database failover",
    "a certificate rotation",
    "a dependency upgrade",
    "a schema migration",
    "a cloud availability-zone outage",
    "a Kubernetes version upgrade",
    "the daylight saving time change",
    "a bulk import by a large merchant",
    "two overlapping cron runs",
    "a manual change in the cloud console",
    "a feature flag rollout",
    "a DNS record change",
    "a network partition between zones",
    "a load test pointed at production",
    "a secret rotation",
    "a node pool drain",
    "month-end batch processing",
    "a marketing push notification",
    "a scraping bot",
    "a breaking change in a partner API",
    "an expired service credential",
)
EVENTS = (
    "Black Friday",
    "the spring sale",
    "a product launch",
    "end-of-quarter billing",
    "the World Cup final",
    "a TV advert slot",
    "payday weekend",
    "New Year's Eve",
    "Cyber Monday",
    "a flash sale",
    "a partner's launch day",
    "the annual renewal run",
)
REGIONS = ["eu-west-1", "us-east-1", "ap-southeast-2", "eu-central-1", "us-west-2", "sa-east-1"]
TRAFFIC = (
    "checkout attempts",
    "API requests",
    "page views",
    "logins",
    "search queries",
    "payment authorisations",
    "webhook deliveries",
    "mobile app sessions",
    "order submissions",
)
DETECTED_BY = (
    ("alert", "The {signal} alert paged the {team} on-call"),
    ("customer report", "Customers reported it to support before any alert fired"),
    ("synthetic monitor", "A synthetic check from {region} started failing"),
    ("dashboard", "An engineer noticed the {signal} graph during a deploy"),
    ("support ticket", "A large merchant opened a priority ticket"),
    ("alert", "The error budget burn-rate alert for {component} fired"),
)
SIGNALS = (
    "pool saturation",
    "queue depth",
    "disk usage",
    "certificate expiry",
    "GC pause time",
    "error budget burn rate",
    "consumer lag",
    "replication lag",
    "p99 latency",
    "open file descriptors",
    "memory growth",
    "retry rate",
    "5xx rate",
    "CPU throttling",
)
TAGS = _words(
    "database connection-pool peak-traffic autoscaling tls certificates dns config deploy "
    "rollback capacity memory kubernetes queue cache retries rate-limiting migration backup "
    "security data-loss latency observability on-call third-party networking storage time"
)
LIBS = (
    "the HTTP client",
    "the ORM",
    "the JSON serializer",
    "the gRPC stub",
    "the image decoder",
    "the metrics exporter",
    "the Kafka client",
    "the Redis client",
    "the JWT library",
    "the PDF renderer",
)

# Cause families: a name template over a few slot values, a description, the fix, and the
# practices it leads to. The pool of cause names is every (family, slot) pair.
CAUSE_FAMILIES: tuple[dict[str, Any], ...] = (
    {
        "name": "{x} connection pool exhausted",
        "x": _options("Postgres|MySQL|Redis|MongoDB|Cassandra|Elasticsearch|PgBouncer|Oracle"),
        "desc": "every {x} connection was checked out and new requests waited until the "
        "acquire timeout",
        "fix": "raised the pool limit and restarted instances in batches",
        "practices": [
            (
                "{x} pool saturation alerting",
                "Page when any instance holds more than 85% of its {x} pool for two minutes",
            ),
            (
                "Connection budget per service for {x}",
                "Autoscaler maximum times pool size must fit the {x} connection limit, "
                "checked in CI",
            ),
        ],
    },
    {
        "name": "Expired TLS certificate on the {x}",
        "x": _options(
            "load balancer|internal mTLS mesh|CDN edge|API gateway|webhook endpoint|"
            "payment provider link|SMTP relay|VPN concentrator"
        ),
        "desc": "the certificate on the {x} expired and clients refused the handshake",
        "fix": "issued and deployed a new certificate by hand",
        "practices": [
            (
                "Automated certificate renewal for the {x}",
                "Certificates on the {x} renew automatically 30 days before expiry",
            ),
            (
                "Certificate expiry alerting",
                "Alert 21 days before any certificate in the inventory expires",
            ),
        ],
    },
    {
        "name": "Memory leak in {x}",
        "x": LIBS,
        "desc": "{x} kept references to finished requests, so memory grew until the kernel "
        "killed the process",
        "fix": "rolled back to the previous release and added a memory limit alarm",
        "practices": [
            (
                "Soak test before release",
                "Every release runs four hours under production-shaped load and fails "
                "on memory growth",
            ),
            (
                "Memory growth alerting for {x}",
                "Alert when resident memory grows more than 10% an hour",
            ),
        ],
    },
    {
        "name": "Unbounded retries from {x}",
        "x": _options(
            "mobile clients|web checkout|the partner SDK|internal batch jobs|the API gateway|"
            "webhook senders|the payments worker|the search frontend"
        ),
        "desc": "{x} retried immediately and without a cap, multiplying load on a struggling "
        "backend",
        "fix": "shed load at the gateway and shipped a client config with backoff",
        "practices": [
            (
                "Retry budget for {x}",
                "At most one retry with exponential backoff and jitter; servers send "
                "Retry-After under load",
            ),
            (
                "Load shedding at the edge",
                "The gateway rejects excess requests early with 429 instead of queueing them",
            ),
        ],
    },
    {
        "name": "Disk full on the {x}",
        "x": _options(
            "database primary|log volume|Kafka broker|build agents|etcd nodes|"
            "Elasticsearch data nodes|metrics store|backup host"
        ),
        "desc": "the {x} ran out of disk space and stopped accepting writes",
        "fix": "freed space by deleting old files and expanded the volume",
        "practices": [
            (
                "Disk growth forecasting for the {x}",
                "Alert when the {x} is forecast to fill within 72 hours",
            ),
            ("Log retention limits", "Every log stream has a retention limit and a size cap"),
        ],
    },
    {
        "name": "Missing index on the {x} table",
        "x": _options("orders|payments|sessions|events|users|invoices|shipments|audit_log"),
        "desc": "a new query scanned the whole {x} table under load",
        "fix": "created the index concurrently and killed the long-running queries",
        "practices": [
            (
                "Query plan review for new queries",
                "New queries against large tables need an EXPLAIN in the pull request",
            ),
            (
                "Slow query alerting on {x}",
                "Page when any query on {x} takes more than one second at p95",
            ),
        ],
    },
    {
        "name": "Clock skew between {x}",
        "x": _options(
            "application hosts|database replicas|token issuer and API|Kafka brokers|"
            "payment nodes|edge servers"
        ),
        "desc": "clocks drifted apart by several seconds, so time-based checks failed",
        "fix": "restarted NTP and resynchronised clocks",
        "practices": [
            (
                "Clock drift monitoring",
                "Alert when any host drifts more than 200 ms from the reference clock",
            )
        ],
    },
    {
        "name": "Race condition in {x}",
        "x": _options(
            "order state transitions|inventory reservation|session refresh|payment capture|"
            "cache invalidation|leader election|refund processing|coupon redemption"
        ),
        "desc": "two concurrent updates to {x} interleaved and left inconsistent state",
        "fix": "serialised the updates with a row lock and repaired the affected records",
        "practices": [
            ("Idempotency keys for {x}", "Every state change in {x} carries an idempotency key"),
            (
                "Concurrency tests in CI",
                "Integration tests run the critical paths with concurrent clients",
            ),
        ],
    },
    {
        "name": "Configuration pushed to {x} without a canary",
        "x": _options(
            "all regions at once|the whole fleet|the edge proxies|every tenant|"
            "the rate limiter|the service mesh|the feature flag service|the load balancers"
        ),
        "desc": "a configuration change went to {x} in one step, so a bad value hit everyone",
        "fix": "reverted the configuration change",
        "practices": [
            (
                "Staged configuration rollout",
                "Configuration changes roll out to 1%, 10% and 100% with automatic rollback",
            ),
            (
                "Configuration review like code",
                "Configuration changes get the same review and CI as code",
            ),
        ],
    },
    {
        "name": "Cache stampede on {x} expiry",
        "x": _options(
            "product page|price list|session|search facet|home feed|exchange rate|feature flag|"
            "permissions"
        ),
        "desc": "many {x} cache entries expired together and every request went to the backend",
        "fix": "warmed the cache from a snapshot and throttled backend calls",
        "practices": [
            ("Jittered cache expiry", "Cache TTLs get random jitter and request coalescing")
        ],
    },
    {
        "name": "DNS TTL too long for {x} failover",
        "x": ["database", "API", "payment provider", "region", "CDN origin", "message broker"],
        "desc": "clients kept resolving the old {x} address for an hour after failover",
        "fix": "lowered the TTL and restarted clients with cached lookups",
        "practices": [
            (
                "Short TTLs for failover records",
                "Records that move during failover have a TTL of 60 seconds or less",
            )
        ],
    },
    {
        "name": "Thread pool starvation in {x}",
        "x": _options(
            "the API servers|the payment worker|the gRPC gateway|the export service|"
            "the notification dispatcher|the image pipeline"
        ),
        "desc": "blocking calls occupied every worker thread in {x}",
        "fix": "moved the blocking call off the request path and restarted",
        "practices": [
            (
                "Bulkheads for slow dependencies",
                "Calls to each dependency get their own bounded pool",
            )
        ],
    },
    {
        "name": "Rate limit misconfigured for {x}",
        "x": _options(
            "partner API keys|mobile clients|internal services|login attempts|search queries|"
            "webhook retries|public API|admin tools"
        ),
        "desc": "the limit for {x} was set per region instead of per client",
        "fix": "corrected the limit and unblocked affected clients",
        "practices": [
            (
                "Rate limit changes behind a dry run",
                "New limits log what they would block for a day before enforcing",
            )
        ],
    },
    {
        "name": "Schema migration locked the {x} table",
        "x": _options("orders|payments|users|products|carts|subscriptions|tickets|ledger_entries"),
        "desc": "an ALTER TABLE on {x} took an exclusive lock during peak traffic",
        "fix": "cancelled the migration and reran it online off-peak",
        "practices": [
            (
                "Online schema migrations",
                "Migrations on large tables use an online tool and a lock timeout",
            ),
            (
                "Migration review checklist",
                "Every migration states its lock level and expected duration",
            ),
        ],
    },
    {
        "name": "Upstream {x} outage",
        "x": _options(
            "payment provider|SMS gateway|email provider|identity provider|object storage|"
            "maps API|tax calculation API|fraud scoring vendor"
        ),
        "desc": "the {x} returned errors and we had no fallback",
        "fix": "failed over to the secondary {x} by hand",
        "practices": [
            ("Fallback provider for {x}", "A second {x} is configured and exercised monthly"),
            (
                "Circuit breakers on third parties",
                "Calls to vendors go through breakers with a degraded mode",
            ),
        ],
    },
    {
        "name": "Kubernetes nodes drained during {x}",
        "x": _options(
            "peak traffic|a deploy|a cluster upgrade|a batch window|a database failover|an incident"
        ),
        "desc": "an automated node drain evicted pods during {x} without enough headroom",
        "fix": "paused the drain and scaled the node pool up",
        "practices": [
            (
                "Pod disruption budgets everywhere",
                "Every deployment has a PodDisruptionBudget checked in CI",
            )
        ],
    },
    {
        "name": "Garbage collection pauses in {x}",
        "x": _options(
            "the search service|the pricing engine|the order service|the recommendation API|"
            "the Kafka consumers|the reporting jobs"
        ),
        "desc": "full GC pauses of several seconds in {x} made health checks fail",
        "fix": "increased the heap and switched collector",
        "practices": [("GC pause alerting", "Alert when GC pauses exceed 500 ms at p99")],
    },
    {
        "name": "Noisy neighbour on the shared {x}",
        "x": _options(
            "database cluster|Redis cluster|Kafka cluster|Kubernetes nodes|"
            "Elasticsearch cluster|build farm"
        ),
        "desc": "another tenant's workload saturated the shared {x}",
        "fix": "moved the noisy workload to its own capacity",
        "practices": [
            (
                "Per-tenant quotas on shared {x}",
                "Shared {x} capacity has per-tenant quotas and alerts",
            )
        ],
    },
    {
        "name": "Quota exceeded for {x}",
        "x": _options(
            "cloud API calls|IP addresses|object storage requests|container pulls|KMS requests|"
            "load balancer rules"
        ),
        "desc": "we hit the provider quota for {x} and new resources failed to start",
        "fix": "requested a quota increase and cleaned up unused resources",
        "practices": [
            ("Quota headroom monitoring", "Alert at 70% of every provider quota we depend on")
        ],
    },
    {
        "name": "Secret rotated without restarting {x}",
        "x": _options(
            "the API servers|the workers|the cron jobs|the webhook senders|the ETL jobs|"
            "the payment workers"
        ),
        "desc": "the credential was rotated but {x} kept the old one in memory",
        "fix": "restarted the affected processes",
        "practices": [
            (
                "Secret rotation runbook",
                "Rotations follow a runbook that lists every consumer and restarts them",
            )
        ],
    },
    {
        "name": "Alert routed to the wrong on-call rotation for {x}",
        "x": ["payments", "search", "identity", "storage", "networking", "mobile"],
        "desc": "the page for {x} went to a team that did not own the service",
        "fix": "fixed the routing rule",
        "practices": [
            (
                "Ownership registry",
                "Every service has an owning team and on-call rotation in the registry",
            ),
            (
                "Quarterly alert routing review",
                "Each team reviews which alerts page it every quarter",
            ),
        ],
    },
    {
        "name": "Backup restore never tested for {x}",
        "x": _options(
            "the payments database|the user store|object storage|the ledger|the search index|"
            "the config store"
        ),
        "desc": "backups of {x} existed but the restore procedure had never been run",
        "fix": "rebuilt the data from an older snapshot and replayed logs",
        "practices": [
            (
                "Monthly restore drills",
                "Each critical datastore is restored into a scratch environment every month",
            )
        ],
    },
    {
        "name": "Time zone handling bug in {x}",
        "x": _options("billing|scheduling|reporting|subscription renewals|payouts|delivery slots"),
        "desc": "{x} used local time, so the DST change ran jobs twice",
        "fix": "switched the job to UTC and deduplicated the results",
        "practices": [
            ("UTC everywhere", "Stored and scheduled times are UTC; only the UI converts")
        ],
    },
    {
        "name": "Dependency upgrade changed a default in {x}",
        "x": LIBS,
        "desc": "a minor version of {x} changed a default timeout",
        "fix": "pinned the previous version",
        "practices": [
            (
                "Changelog review for upgrades",
                "Dependency upgrades list changed defaults in the pull request",
            )
        ],
    },
    {
        "name": "Health check too lenient on {x}",
        "x": _options(
            "the load balancer|the service mesh|the Kubernetes readiness probe|the CDN origin"
        ),
        "desc": "{x} kept sending traffic to instances that could not serve it",
        "fix": "made the health check call the real dependency path",
        "practices": [
            ("Deep health checks", "Readiness checks exercise the dependencies a request needs")
        ],
    },
    {
        "name": "Autoscaler maximum too low for {x}",
        "x": _options(
            "the checkout fleet|the API fleet|the workers|the search cluster|"
            "the ingest pipeline|the websocket servers"
        ),
        "desc": "{x} hit its autoscaler maximum during the spike",
        "fix": "raised the maximum by hand",
        "practices": [
            (
                "Capacity review before peaks",
                "Autoscaler limits are reviewed against forecasts before each peak event",
            )
        ],
    },
    {
        "name": "Split brain after a network partition in {x}",
        "x": _options(
            "the Redis cluster|the Elasticsearch cluster|the database pair|"
            "the ZooKeeper ensemble|the Consul cluster"
        ),
        "desc": "both sides of {x} accepted writes during the partition",
        "fix": "fenced one side and reconciled the divergent writes",
        "practices": [
            (
                "Quorum-based failover",
                "Failover requires a majority; no manual promotion without fencing",
            )
        ],
    },
    {
        "name": "Poison message blocked {x}",
        "x": _options(
            "the order consumer|the email queue|the webhook queue|the billing queue|"
            "the ingest stream|the audit stream"
        ),
        "desc": "one malformed message made {x} crash and retry forever",
        "fix": "moved the message to a dead-letter queue and restarted",
        "practices": [
            ("Dead-letter queues", "Every consumer parks messages that fail three times")
        ],
    },
    {
        "name": "Terraform apply deleted {x}",
        "x": _options(
            "a storage bucket|a DNS zone|a database replica|a load balancer|an IAM role|"
            "a VPC peering"
        ),
        "desc": "a refactor renamed a resource, so terraform destroyed and recreated {x}",
        "fix": "restored the resource from backup and imported it into state",
        "practices": [
            (
                "Plan review for destroys",
                "CI blocks any terraform plan that destroys a stateful resource",
            ),
            (
                "Deletion protection on stateful resources",
                "Stateful cloud resources have deletion protection on",
            ),
        ],
    },
    {
        "name": "Feature flag enabled for {x} at once",
        "x": _options(
            "all users|every market|all merchants|the mobile apps|all API clients|every region"
        ),
        "desc": "a flag meant for a small cohort was enabled for {x}",
        "fix": "turned the flag off",
        "practices": [
            ("Percentage rollouts for flags", "Flags roll out by percentage with a guarded metric")
        ],
    },
    {
        "name": "Runbook out of date for {x}",
        "x": _options(
            "database failover|cache flush|certificate renewal|region evacuation|queue replay|"
            "rollback"
        ),
        "desc": "the {x} runbook described a setup that no longer existed",
        "fix": "followed the steps of a senior engineer instead of the runbook",
        "practices": [
            (
                "Runbooks tested in game days",
                "Every runbook is executed in a game day at least twice a year",
            )
        ],
    },
    {
        "name": "File descriptor limit reached on {x}",
        "x": _options(
            "the API servers|the proxy fleet|the websocket servers|the Kafka brokers|"
            "the log shippers|the database hosts|the build agents"
        ),
        "desc": "{x} hit the open file limit and could not accept new connections",
        "fix": "raised the limit and restarted the processes",
        "practices": [
            (
                "File descriptor headroom alerting",
                "Alert when any process uses more than 70% of its file descriptor limit",
            )
        ],
    },
    {
        "name": "Stale read replica used for {x}",
        "x": _options(
            "balance checks|inventory counts|permission checks|order status|price lookups|"
            "session validation|stock reservations"
        ),
        "desc": "{x} read from a replica that was minutes behind the primary",
        "fix": "pointed the reads at the primary and added a lag guard",
        "practices": [
            (
                "Replica lag guard",
                "Reads that must be fresh go to the primary; others check replica lag first",
            )
        ],
    },
    {
        "name": "IAM policy change blocked {x}",
        "x": _options(
            "the deploy pipeline|the backup job|the payment workers|the log shippers|"
            "the data exports|the autoscaler|the certificate manager"
        ),
        "desc": "a tightened IAM policy removed a permission that {x} needed",
        "fix": "restored the permission and re-ran the failed jobs",
        "practices": [
            (
                "Policy simulation before IAM changes",
                "IAM changes run through the policy simulator against recorded calls",
            )
        ],
    },
    {
        "name": "Kernel upgrade changed {x}",
        "x": _options(
            "TCP keepalive defaults|cgroup memory accounting|the conntrack table size|"
            "NFS client behaviour|the I/O scheduler|transparent huge pages"
        ),
        "desc": "a routine kernel upgrade changed {x} on every host",
        "fix": "pinned the previous kernel on the affected hosts",
        "practices": [
            (
                "Canary hosts for OS upgrades",
                "OS and kernel upgrades bake on canary hosts for a week",
            )
        ],
    },
    {
        "name": "Log flood from {x}",
        "x": _options(
            "a debug flag left on|a retry loop|a misbehaving client|the auth service|"
            "a crash-looping pod|the payment SDK"
        ),
        "desc": "{x} wrote millions of log lines and saturated the log pipeline",
        "fix": "dropped the noisy stream at the collector",
        "practices": [
            ("Per-service log rate limits", "The log collector enforces a per-service rate limit")
        ],
    },
    {
        "name": "Webhook signature check failing for {x}",
        "x": _options(
            "the payment provider|the shipping partner|the CRM|the app store|"
            "the identity provider|the tax service"
        ),
        "desc": "{x} rotated its signing key and every webhook was rejected",
        "fix": "loaded the new signing key",
        "practices": [
            (
                "Signing key rotation runbook",
                "Partner signing keys are tracked with their rotation dates",
            )
        ],
    },
    {
        "name": "Integer overflow in the {x} counter",
        "x": ["order id", "sequence", "retry", "message offset", "invoice number", "session"],
        "desc": "the 32-bit {x} counter wrapped around",
        "fix": "migrated the column to 64 bits",
        "practices": [
            (
                "Capacity limits in design review",
                "Design reviews list every counter and limit with its growth rate",
            )
        ],
    },
)

# Phrases for lessons, actions, experiments and the summary.
LESSONS = (
    "We alerted on {symptom} instead of {signal}; by the time it paged, {pct}% of customers were "
    "already affected.",
    "{cause} was invisible on the {component} dashboards; a {signal} graph would have shown it "
    "{mins} minutes earlier.",
    "The runbook for {component} assumed a single region, which cost the on-call {mins} minutes.",
    "Rolling back {component} was the fastest mitigation, but it took {mins} minutes because "
    "the previous build had been deleted.",
    "Nobody clearly owned {component2}, so the page bounced between {team} and {team2} for "
    "{mins} minutes.",
    "Staging does not reproduce {cause_lower}; only production-shaped traffic on {component} "
    "would have caught it.",
    "A {pct}% canary would have limited the blast radius of {trigger} on {component}.",
    "Retries made the {symptom} worse; {component} needs a retry budget of about {pct}%.",
    "Capacity for {component} was planned on averages; peaks during {event} are {mult}x higher.",
    "Customer support heard about the {symptom} on {component} {mins} minutes before "
    "engineering did.",
    "The dependency of {component} on {component2} was undocumented, so its impact surprised "
    "the {team} team.",
    "We tested the backups of {component} every night but had not tried a restore in {days} days.",
    "Configuration changes to {component} need the same review as code changes; this one was "
    "merged by {owner} without a reviewer.",
    "{signal_cap} is the earliest signal for {cause_lower}, and {component} did not export it.",
    "Manual mitigation steps on {component} were error-prone at {hour} in the morning; "
    "{mult} of them had to be redone.",
    "The incident channel had {people} people in it and no incident commander for the first "
    "{mins} minutes.",
    "The {team} team did not know that {component} depended on {component2}.",
    "Our SLO for {component} hid the problem because {pct}% of the failures were retried.",
    "{event} traffic on {component} was {mult}x the forecast, and nobody had checked the "
    "forecast since {days} days before.",
    "The {signal} alert for {component} had been muted {days} days earlier and never unmuted.",
)
ACTIONS = (
    "Add a {signal} alert for {component} paging {team}",
    "Write a runbook section on {cause_lower} for {component}",
    "Raise the {component} limit from {a} to {b} and document why",
    "Backfill the {count} affected records in {component}",
    "Add an integration test for {component} that reproduces {cause_lower}",
    "Move {component} behind the shared rate limiter before {event}",
    "Schedule a restore drill for {component} with {team}",
    "Document the ownership of {component2} in the service registry by {due_text}",
    "Add a load test scenario for {event} traffic on {component}",
    "Pin the version of {lib} in {component} until {team} has tested the upgrade",
    "Add a dashboard panel for {signal} on {component}",
    "Review the {mult} callers of {component2} for retry behaviour",
    "Run a game day on {cause_lower} with the {team} team",
    "Split {component} traffic into its own pool of {a} connections",
    "Cut the {component} timeout from {b} to {a} seconds",
    "Reconcile the {count} {traffic} that {component} dropped during the incident",
)
EXPERIMENT_METHODS = (
    "Compared {signal} on {component} before and during the incident",
    "Replayed {mins} minutes of production traffic against staging",
    "Rolled one canary instance back and compared error rates",
    "Queried the logs of {component} for the first error",
)
FINDINGS_CONFIRMED = (
    "{signal_cap} started rising {mins} minutes before the first error",
    "Errors on the canary dropped from {pct}% to zero within two minutes",
    "Every failed request went through {component} in {region}",
)
FINDINGS_REFUTED = (
    "{signal_cap} stayed flat throughout",
    "The error rate was {pct}% with and without the change",
    "{component} was healthy the whole time, at {pct}% CPU",
)
RED_HERRINGS = (
    "a bad deploy of {component2}",
    "the {region} network",
    "database CPU saturation",
    "a DDoS attack",
    "a CDN misconfiguration",
    "the latest {lib} upgrade",
)

TITLES = (
    "{Component} {symptom} after {trigger}",
    "{Symptom} in {component} during {event}",
    "{component}: {symptom} caused by {cause_lower}",
    "{Traffic} failing — {component} {symptom}",
    "{Symptom} on {component} ({region})",
    "{Component} {symptom} while {team} ran {trigger}",
    "{Symptom} across {component} and {component2}",
    "{team} incident: {component} {symptom}",
)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


class Pools:
    """The shared vocabularies that depend on the seed only, never on N."""

    def __init__(self, seed: int) -> None:
        rng = random.Random(f"{seed}:pools")
        components = list(INFRA_COMPONENTS)
        for prefix in COMPONENT_PREFIXES:
            for suffix in rng.sample(COMPONENT_SUFFIXES, rng.randint(3, 5)):
                components.append(f"{prefix}-{suffix}")
        self.components = components
        self.owners = sorted({f"{name}.{letter}" for name in FIRST_NAMES for letter in "abklmst"})
        # Every (family, slot) pair is one cause; a Zipf-like weight makes some causes common.
        self.causes: list[tuple[dict[str, Any], str]] = [
            (family, x) for family in CAUSE_FAMILIES for x in family["x"]
        ]
        rng.shuffle(self.causes)
        self.cause_weights = [1.0 / (rank + 5) for rank in range(len(self.causes))]

    def cause_name(self, cause: tuple[dict[str, Any], str]) -> str:
        family, x = cause
        return _cap(family["name"].format(x=x))


def _practices(cause: tuple[dict[str, Any], str]) -> list[tuple[str, str]]:
    family, x = cause
    return [(_cap(n.format(x=x)), _cap(d.format(x=x))) for n, d in family["practices"]]


def generate_records(n: int, seed: int = DEFAULT_SEED) -> Iterator[dict[str, Any]]:
    """`n` canonical record dicts, in id order; the same seed always gives the same records."""
    pools = Pools(seed)
    by_root_cause: dict[str, list[str]] = {}
    start = datetime(2015, 1, 1, tzinfo=UTC)
    for i in range(n):
        rng = random.Random(f"{seed}:{i}")
        at = start + timedelta(minutes=90 * i + rng.randint(0, 80))
        record = _record(rng, pools, i, at)
        root = record["causes"][0]["name"]
        earlier = by_root_cause.setdefault(root, [])
        if earlier and rng.random() < 0.06:
            record["recurrence_of"] = [rng.choice(earlier[-50:])]
        earlier.append(record["id"])
        yield record


def _record(rng: random.Random, pools: Pools, i: int, at: datetime) -> dict[str, Any]:
    comps = rng.sample(pools.components, rng.randint(1, 3))
    component, component2 = comps[0], rng.choice(pools.components)
    team, team2 = rng.sample(TEAMS, 2)
    noun, verb = rng.choice(SYMPTOMS)
    trigger = rng.choice(TRIGGERS)
    event = rng.choice(EVENTS)
    region = rng.choice(REGIONS)
    lib = rng.choice(LIBS)
    signal = rng.choice(SIGNALS)
    mins = rng.randint(4, 240)
    fill = {
        "component": component,
        "Component": _cap(component),
        "component2": component2,
        "team": team,
        "team2": team2,
        "symptom": noun,
        "Symptom": _cap(noun),
        "trigger": trigger,
        "event": event,
        "region": region,
        "lib": lib,
        "signal": signal,
        "signal_cap": _cap(signal),
        "mins": mins,
        "secs": rng.randint(2, 30),
        "pct": rng.randint(1, 60),
        "mult": rng.randint(2, 12),
        "hour": rng.randint(1, 5),
        "days": rng.randint(3, 400),
        "owner": rng.choice(pools.owners),
        "traffic": rng.choice(TRAFFIC),
        "due_text": (at + timedelta(days=rng.randint(7, 60))).strftime("%B %d"),
        "people": rng.randint(8, 90),
        "a": rng.choice([10, 20, 30, 50, 100, 200]),
        "count": rng.randint(12, 90_000),
        "Traffic": _cap(rng.choice(TRAFFIC)),
    }
    fill["b"] = fill["a"] * rng.randint(2, 5)

    # ~3 causes: a root (weighted so some are common), usually a contributing one or two, and
    # the trigger; all are shared `Cause` nodes.
    n_causes = rng.choices([1, 2, 3], weights=[2, 6, 2])[0]
    picked: list[tuple[dict[str, Any], str]] = []
    while len(picked) < n_causes:
        cause = rng.choices(pools.causes, weights=pools.cause_weights)[0]
        if cause not in picked:
            picked.append(cause)
    roles = ["root", "contributing", "contributing"]
    causes = [
        {
            "name": pools.cause_name(c),
            "role": role,
            "description": _cap(c[0]["desc"].format(x=c[1]))
            + f"; seen on {rng.choice(comps)} for {rng.randint(3, 180)} minutes.",
        }
        for c, role in zip(picked, roles, strict=False)
    ]
    # The trigger is a shared cause too, named after what set the failure off.
    causes.insert(
        1,
        {
            "name": _cap(trigger.split(" ", 1)[1]),
            "role": "trigger",
            "description": f"{_cap(trigger)} started at {at:%H:%M} UTC.",
        },
    )
    root = picked[0]
    fill["cause"] = causes[0]["name"]
    fill["cause_lower"] = causes[0]["name"][:1].lower() + causes[0]["name"][1:]

    title = rng.choice(TITLES).format(**fill)
    hh, mm = rng.randint(0, 23), rng.randint(0, 59)
    verb = verb.format(**fill)
    sentences = [
        rng.choice(
            (
                f"At {hh:02d}:{mm:02d} UTC, {component} began {verb} for {fill['pct']}% of "
                f"{rng.choice(TRAFFIC)}.",
                f"For {mins} minutes during {event}, {component} was {verb}, affecting about "
                f"{fill['count']:,} {rng.choice(TRAFFIC)}.",
                f"Shortly after {trigger}, {component} started {verb} in {region}.",
            )
        ),
        f"The root cause was {fill['cause_lower']}: {root[0]['desc'].format(x=root[1])}.",
    ]
    contributing = [c["name"] for c in causes if c["role"] == "contributing"]
    if contributing and rng.random() < 0.8:
        other = contributing[0]
        sentences.append(
            rng.choice(
                (
                    f"{_cap(trigger)} set it off, and {other[:1].lower() + other[1:]} made "
                    "recovery slower.",
                    f"{other} turned a partial failure into a wider one.",
                    f"It was triggered by {trigger} and made worse by {other.lower()}.",
                )
            )
        )
    if rng.random() < 0.5:
        herring = rng.choice(RED_HERRINGS).format(**fill)
        sentences.append(
            f"The first suspect, {herring}, was wrong, which cost {mins // 2 + 3} minutes."
        )
    summary = " ".join(sentences)

    detected_by, detection = rng.choice(DETECTED_BY)
    practices = _practices(root)
    rng.shuffle(practices)
    practices = practices[: rng.randint(1, 2)]
    adopted = (at + timedelta(days=rng.randint(7, 90))).date()

    lesson_texts = [t.format(**fill) for t in rng.sample(LESSONS, rng.choice([2, 2, 3]))]
    lessons: list[dict[str, Any]] = [{"text": t} for t in lesson_texts]
    for lesson, (name, _) in zip(lessons, practices, strict=False):
        lesson["adopted_as"] = [name]

    actions: list[dict[str, Any]] = []
    for number, template in enumerate(rng.sample(ACTIONS, rng.choice([2, 3, 3]))):
        action: dict[str, Any] = {
            "text": template.format(**fill),
            "owner": rng.choice(pools.owners),
            "status": rng.choice(["done", "done", "open"]),
            "due": (at + timedelta(days=rng.randint(7, 60))).date().isoformat(),
        }
        if number < len(practices):
            action["implements"] = practices[number][0]
        actions.append(action)

    experiments = []
    if rng.random() < 0.35:
        for _ in range(rng.randint(1, 2)):
            confirmed = rng.random() < 0.5
            tested = causes[0]["name"] if confirmed else rng.choice(causes)["name"]
            experiments.append(
                {
                    "hypothesis": f"The {noun} came from {tested[:1].lower() + tested[1:]}",
                    "method": rng.choice(EXPERIMENT_METHODS).format(**fill),
                    "outcome": "confirmed" if confirmed else "refuted",
                    "finding": rng.choice(
                        FINDINGS_CONFIRMED if confirmed else FINDINGS_REFUTED
                    ).format(**fill),
                    "tested_causes": [tested],
                }
            )

    t0 = at
    timeline = [
        {"at": t0.strftime("%H:%M"), "event": f"{_cap(trigger)} starts"},
        {
            "at": (t0 + timedelta(minutes=3)).strftime("%H:%M"),
            "event": f"First {noun} on {component}",
        },
        {
            "at": (t0 + timedelta(minutes=mins // 3 + 4)).strftime("%H:%M"),
            "event": f"{team} on-call paged",
        },
        {
            "at": (t0 + timedelta(minutes=mins + 5)).strftime("%H:%M"),
            "event": "Error rate back to baseline",
        },
    ]
    slug = slugify(f"{component} {noun}")[:40].rstrip("-")
    return {
        "id": f"{at:%Y-%m-%d}-{slug}-{i:06d}",
        "title": title,
        "summary": summary,
        "occurred_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "severity": rng.choice(["SEV1", "SEV2", "SEV2", "SEV3", "SEV3", "SEV4"]),
        "status": "resolved",
        "detected_by": detected_by,
        "team": team,
        "components": comps,
        "tags": rng.sample(TAGS, rng.randint(2, 4)),
        "impact": f"{fill['pct']}% of {rng.choice(TRAFFIC)} failed for {mins} minutes; about "
        f"{fill['count']:,} customers were affected.",
        "detection": detection.format(**fill) + f", {rng.randint(1, 30)} minutes after onset.",
        "resolution": f"The {team} on-call {root[0]['fix'].format(x=root[1])}; errors were back "
        f"to baseline after {mins} minutes.",
        "causes": causes,
        "experiments": experiments,
        "lessons": lessons,
        "practices": [
            {
                "name": name,
                "description": description,
                "status": "adopted",
                "adopted_at": adopted.isoformat(),
                "addresses": [causes[0]["name"]],
            }
            for name, description in practices
        ],
        "actions": actions,
        "timeline": timeline,
    }


# -- rendering ----------------------------------------------------------------------------


def render_yaml(record: dict[str, Any]) -> str:
    """The record as one YAML mapping (empty lists left out)."""
    data = {k: v for k, v in record.items() if v not in ([], None)}
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell.replace("|", "/") for cell in row) + " |" for row in rows]
    return lines


def render_markdown(record: dict[str, Any], *, task_list: bool = False) -> str:
    """The record as Markdown: front matter for the scalars, sections for the rest.

    With `task_list`, actions are `- [x] text (owner: name)` bullets (so only done/open
    statuses, no due date or practice) instead of a table.
    """
    front = {
        k: record[k]
        for k in (
            "id",
            "title",
            "occurred_at",
            "severity",
            "status",
            "detected_by",
            "team",
            "components",
            "tags",
            "recurrence_of",
        )
        if record.get(k)
    }
    out = [
        "---",
        yaml.safe_dump(front, sort_keys=False, allow_unicode=True, width=1000).strip(),
        "---",
        "",
        f"# {record['title']}",
        "",
    ]
    for heading, field in (
        ("Summary", "summary"),
        ("Impact", "impact"),
        ("Detection", "detection"),
        ("Resolution", "resolution"),
    ):
        out += [f"## {heading}", "", record[field], ""]
    for heading, role in (
        ("Root cause", "root"),
        ("Trigger", "trigger"),
        ("Contributing factors", "contributing"),
    ):
        items = [c for c in record["causes"] if c["role"] == role]
        if items:
            out += [f"## {heading}", ""]
            out += [f"- {c['name']}: {c['description']}" for c in items] + [""]
    if record["experiments"]:
        out += ["## Investigation", ""]
        out += [
            *_table(
                ["Hypothesis", "Method", "Outcome", "Finding", "Tested causes"],
                [
                    [
                        e["hypothesis"],
                        e["method"],
                        e["outcome"],
                        e["finding"],
                        "; ".join(e["tested_causes"]),
                    ]
                    for e in record["experiments"]
                ],
            ),
            "",
        ]
    out += ["## Lessons learned", ""]
    out += [
        *_table(
            ["Lesson", "Adopted as"],
            [
                [lesson["text"], "; ".join(lesson.get("adopted_as", []))]
                for lesson in record["lessons"]
            ],
        ),
        "",
    ]
    out += ["## Practices", ""]
    out += [
        *_table(
            ["Practice", "Description", "Status", "Adopted at", "Addresses"],
            [
                [
                    p["name"],
                    p["description"],
                    p["status"],
                    p["adopted_at"],
                    "; ".join(p["addresses"]),
                ]
                for p in record["practices"]
            ],
        ),
        "",
    ]
    out += ["## Action items", ""]
    if task_list:
        out += [
            f"- [{'x' if a['status'] == 'done' else ' '}] {a['text']} (owner: {a['owner']})"
            for a in record["actions"]
        ] + [""]
    else:
        out += [
            *_table(
                ["Action", "Owner", "Status", "Due", "Implements"],
                [
                    [a["text"], a["owner"], a["status"], a["due"], a.get("implements", "")]
                    for a in record["actions"]
                ],
            ),
            "",
        ]
    out += ["## Timeline", ""]
    out += _table(["Time", "Event"], [[e["at"], e["event"]] for e in record["timeline"]])
    return "\n".join(out) + "\n"


def expected_record(record: dict[str, Any], *, task_list: bool) -> dict[str, Any]:
    """What parsing the Markdown rendering gives back (task lists drop due and implements)."""
    if not task_list:
        return record
    actions = [
        {"text": a["text"], "owner": a["owner"], "status": a["status"]} for a in record["actions"]
    ]
    return {**record, "actions": actions}


def file_for(record: dict[str, Any], seed: int, index: int) -> tuple[str, str, bool]:
    """File name, text and whether actions were written as a task list, for one record."""
    rng = random.Random(f"{seed}:format:{index}")
    if rng.random() < MARKDOWN_SHARE:
        task_list = rng.random() < 0.5
        return f"{record['id']}.md", render_markdown(record, task_list=task_list), task_list
    return f"{record['id']}.yaml", render_yaml(record), False


def write_corpus(directory: Path, n: int, seed: int = DEFAULT_SEED) -> list[Path]:
    """Write `n` postmortem files (Markdown or YAML) into `directory`; returns their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, record in enumerate(generate_records(n, seed)):
        name, text, _ = file_for(record, seed, index)
        path = directory / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def check_corpus(n: int, seed: int, directory: Path) -> int:
    """Parse each written file back and compare it with its record; returns the mismatches."""
    from lessons.ingest.parsers import parse_document
    from lessons.ingest.record import PostmortemRecord

    bad = 0
    for index, record in enumerate(generate_records(n, seed)):
        name, _, task_list = file_for(record, seed, index)
        path = directory / name
        (parsed,) = parse_document(path.read_text(encoding="utf-8"), str(path), path.suffix)
        want = PostmortemRecord.model_validate(expected_record(record, task_list=task_list))
        if parsed.model_dump() != want.model_dump():
            bad += 1
            if bad <= 3:
                got, exp = parsed.model_dump(), want.model_dump()
                diff = {k: (got[k], exp[k]) for k in exp if got[k] != exp[k]}
                print(f"MISMATCH {name}: {diff}", file=sys.stderr)
    return bad


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--check", action="store_true", help="parse every file back and compare")
    args = parser.parse_args()
    paths = write_corpus(args.directory, args.n, args.seed)
    print(f"wrote {len(paths)} postmortems to {args.directory}")
    if args.check:
        bad = check_corpus(args.n, args.seed, args.directory)
        print(f"checked {len(paths)} files: {bad} differ from their records")
        sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
