// Package redistest starts real redis-server processes for tests: a
// standalone [Server], a three-master Redis Cluster ([Cluster]) and a
// master/replica pair watched by one sentinel ([Sentinel]).
//
// Every process listens on free 127.0.0.1 ports (never 6379), keeps its
// files in a private temporary directory, persists nothing (--save "",
// --appendonly no) and is killed by Close. Processes are started in their own
// process group with a parent-death signal (Linux), so they die with the test
// binary even when a test panics or is killed before Close runs. The parent-
// death signal is tied to the OS thread that started the process; the Go
// runtime only retires threads of goroutines that exit while locked with
// runtime.LockOSThread, so do not start servers from such goroutines.
//
// Startup waits, with a bound, until the server answers PING (and, for a
// cluster, until every node reports cluster_state:ok and a cluster client can
// write to every master); errors carry the tail of the server's log.
//
// Typical use shares one server per test package:
//
//	var srv *redistest.Server
//
//	func TestMain(m *testing.M) {
//		s, err := redistest.NewServer()
//		if err != nil {
//			fmt.Fprintln(os.Stderr, err)
//			os.Exit(1)
//		}
//		srv = s
//		code := m.Run()
//		s.Close()
//		os.Exit(code)
//	}
//
// or one per test with [StartServer], which closes it on cleanup.
//
// redis-server (>= 7.0) must be installed; see [Binary].
package redistest
