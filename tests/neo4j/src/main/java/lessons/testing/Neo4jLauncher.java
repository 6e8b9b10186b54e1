package lessons.testing;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;

import org.neo4j.configuration.GraphDatabaseInternalSettings;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.connectors.HttpsConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.GraphDatabaseService;
import org.neo4j.graphdb.QueryExecutionException;
import org.neo4j.graphdb.config.Setting;
import org.neo4j.io.ByteUnit;

/**
 * Runs an embedded Neo4j Community database with a Bolt connector on 127.0.0.1, for tests.
 *
 * <p>Usage: {@code Neo4jLauncher HOME_DIR PORT}. If the environment variable
 * {@code NEO4J_PASSWORD} is set, auth is enabled and user {@code neo4j} gets that password
 * (at least 8 characters); otherwise auth is disabled. If {@code NEO4J_PARENT_PID} is set, the
 * server also shuts down when that process exits, so a killed test run leaves no JVM behind.
 * {@code NEO4J_PAGECACHE_MB} sizes the page cache (default 128; benchmarks use more). Further
 * settings are read from {@code HOME_DIR/neo4j.conf} when it exists (the server's own format).
 * Prints {@code NEO4J READY bolt://127.0.0.1:PORT} once the database is available and shuts
 * down cleanly on SIGTERM.
 */
public final class Neo4jLauncher {
    private static final Setting<?> QUIET_PERIOD =
            GraphDatabaseInternalSettings.netty_server_shutdown_quiet_period;

    /** Zero in the setting's own type: seconds (an Integer) on 5.x, a Duration on 2025.x+. */
    private static Object noQuietPeriod() {
        return QUIET_PERIOD.defaultValue() instanceof Duration ? Duration.ZERO : (Object) 0;
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 2) {
            System.err.println("usage: Neo4jLauncher HOME_DIR PORT");
            System.exit(2);
        }
        Path home = Path.of(args[0]).toAbsolutePath();
        int port = Integer.parseInt(args[1]);
        String password = System.getenv("NEO4J_PASSWORD");
        long pageCacheMb = Long.parseLong(System.getenv().getOrDefault("NEO4J_PAGECACHE_MB", "128"));

        DatabaseManagementServiceBuilder builder = new DatabaseManagementServiceBuilder(home);
        Path settings = home.resolve("neo4j.conf");
        if (Files.exists(settings)) {
            builder.loadPropertiesFromFile(settings);
        }
        DatabaseManagementService service = builder
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", port))
                .setConfig(HttpConnector.enabled, false)
                .setConfig(HttpsConnector.enabled, false)
                .setConfig(GraphDatabaseSettings.auth_enabled, password != null)
                .setConfig(GraphDatabaseSettings.pagecache_memory, ByteUnit.mebiBytes(pageCacheMb))
                .setConfig(GraphDatabaseSettings.memory_transaction_global_max_size,
                        ByteUnit.mebiBytes(512))
                // Netty waits a 5 s quiet period per event loop group on shutdown; skip it.
                .setConfig(Map.of(QUIET_PERIOD, noQuietPeriod()))
                .build();
        Runtime.getRuntime().addShutdownHook(new Thread(service::shutdown, "neo4j-shutdown"));
        String parentPid = System.getenv("NEO4J_PARENT_PID");
        if (parentPid != null) {
            ProcessHandle.of(Long.parseLong(parentPid)).map(ProcessHandle::onExit)
                    .orElse(CompletableFuture.completedFuture(null))
                    .thenRun(() -> System.exit(0));
        }

        if (password != null) {
            // The embedded API runs with full privileges, so the system database can set the
            // initial password directly (the server's `neo4j-admin dbms set-initial-password`).
            // On a data directory used before, the password may already be this one.
            try {
                service.database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME).executeTransactionally(
                        "ALTER USER neo4j SET PASSWORD $password CHANGE NOT REQUIRED",
                        Map.of("password", password));
            } catch (QueryExecutionException e) {
                if (!e.getMessage().contains("Old password and new password cannot be the same")) {
                    throw e;
                }
            }
        }
        GraphDatabaseService db = service.database(GraphDatabaseSettings.DEFAULT_DATABASE_NAME);
        if (!db.isAvailable(60_000)) {
            System.err.println("database did not become available");
            System.exit(1);
        }
        System.out.println("NEO4J READY bolt://127.0.0.1:" + port);
        System.out.flush();
        new CountDownLatch(1).await(); // run until the JVM is told to exit
    }
}
