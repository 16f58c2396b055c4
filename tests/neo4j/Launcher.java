// A real Neo4j 5 Community server for the test suite: the embedded database with its
// Bolt connector on a loopback port, authentication on, and a home directory of its own.
//
//   java -cp "$(cat target/classpath.txt)" Launcher.java HOME [PORT]
//
// HOME holds the data (HOME/data/databases/neo4j, the layout `neo4j-admin database
// import full` writes when NEO4J_HOME=HOME) and the logs. PORT 0 (the default) takes a
// free port. The password of the `neo4j` user comes from TAILGRAPH_NEO4J_PASSWORD.
// When the default database is available the launcher prints one line,
// `READY bolt://127.0.0.1:PORT`, on stdout. SIGTERM (or SIGINT) shuts the database down
// cleanly, then it prints `STOPPED`. With TAILGRAPH_NEO4J_EXIT_ON_EOF=1 it also stops when
// its standard input closes, so a test run that dies without cleaning up does not leave a
// server behind.

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.ConnectorPortRegister;
import org.neo4j.configuration.connectors.ConnectorType;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.GraphDatabaseService;
import org.neo4j.graphdb.QueryExecutionException;
import org.neo4j.kernel.internal.GraphDatabaseAPI;

public final class Launcher {
    public static void main(String[] args) throws Exception {
        if (args.length < 1 || args.length > 2) {
            System.err.println("usage: Launcher HOME [PORT]");
            System.exit(2);
        }
        Path home = Path.of(args[0]).toAbsolutePath();
        int port = args.length == 2 ? Integer.parseInt(args[1]) : 0;
        String password = System.getenv("TAILGRAPH_NEO4J_PASSWORD");
        if (password == null || password.length() < 8) {
            System.err.println("TAILGRAPH_NEO4J_PASSWORD: expected a password of 8 or more characters");
            System.exit(2);
        }

        DatabaseManagementService service = new DatabaseManagementServiceBuilder(home)
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", port))
                .setConfig(BoltConnector.encryption_level, BoltConnector.EncryptionLevel.DISABLED)
                .setConfig(GraphDatabaseSettings.auth_enabled, true)
                // Small memory: the suite runs on shared 2-core machines (the heap is set by -Xmx).
                .setConfig(GraphDatabaseSettings.pagecache_memory, 128L * 1024 * 1024)
                .setConfig(GraphDatabaseSettings.memory_transaction_global_max_size, 256L * 1024 * 1024)
                .build();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            service.shutdown();
            System.out.println("STOPPED");
            System.out.flush();
        }));

        GraphDatabaseService system = service.database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME);
        setPassword(system, password);
        GraphDatabaseService neo4j = service.database(GraphDatabaseSettings.DEFAULT_DATABASE_NAME);
        if (!neo4j.isAvailable(TimeUnit.MINUTES.toMillis(5))) {
            System.err.println("the default database did not become available within 5 minutes");
            System.exit(1);
        }
        int bound = ((GraphDatabaseAPI) system).getDependencyResolver()
                .resolveDependency(ConnectorPortRegister.class)
                .getLocalAddress(ConnectorType.BOLT)
                .getPort();
        System.out.println("READY bolt://127.0.0.1:" + bound);
        System.out.flush();

        if ("1".equals(System.getenv("TAILGRAPH_NEO4J_EXIT_ON_EOF"))) {
            drain(System.in);
            System.exit(0); // runs the shutdown hook
        }
        Thread.currentThread().join(); // until a signal ends the JVM
    }

    /** The `neo4j` user's password, without the first-login change a fresh server asks for. */
    private static void setPassword(GraphDatabaseService system, String password) {
        try {
            system.executeTransactionally(
                    "ALTER USER neo4j SET PLAINTEXT PASSWORD $password CHANGE NOT REQUIRED",
                    Map.of("password", password));
        } catch (QueryExecutionException e) {
            // A restart on the same home: the password is already this one.
            if (!e.getMessage().contains("Old password and new password cannot be the same")) {
                throw e;
            }
        }
    }

    private static void drain(InputStream in) throws IOException {
        byte[] buffer = new byte[256];
        while (in.read(buffer) >= 0) {
            // keep reading until the other end closes
        }
    }

    private Launcher() {}
}
