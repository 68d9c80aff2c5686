//go:build unix

package store

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	bolt "go.etcd.io/bbolt"
)

const crashEnv = "MANGABOT_STORE_CRASH_DB"

// crashJob is the job the helper writes as its n-th Put: new jobs, with
// every third Put updating an earlier one, so the kill can land in an
// insert or an update. Files make each value span a good part of a page,
// so transactions split and rebalance pages.
func crashJob(n int) (j Job, version int) {
	id := n
	if n%3 == 2 {
		id = n / 2
	}
	j = Job{ID: fmt.Sprintf("crash%d", id), State: Running, UserID: "u1", ChannelID: "c1",
		Request: Request{URL: fmt.Sprintf("https://example.org/title/%d", id), Chapters: "1-3,7"}}
	j.PagesDone = n
	for k := range 20 {
		j.Files = append(j.Files, fmt.Sprintf("/out/job-crash%d/Series – Chapter %d part %d.pdf", id, n, k))
	}
	return j, n
}

// TestHelperProcess is the child of TestCrashSafety: it puts jobs forever
// and prints "put <id> <version>" after each Put returns.
func TestHelperProcess(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("child process of TestCrashSafety")
	}
	s, err := Open(path, Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	// Bounded so a child whose parent vanished cannot run away.
	for n := 0; n < 1_000_000; n++ {
		j, v := crashJob(n)
		if _, err := s.Put(j); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Printf("put %s %d\n", j.ID, v)
	}
	os.Exit(3)
}

func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	path := filepath.Join(t.TempDir(), "jobs.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), crashEnv+"="+path)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// reported[id] is the newest version the child said was written.
	reported := map[string]int{}
	sc := bufio.NewScanner(out)
	killed := false
	for sc.Scan() {
		var id string
		var v int
		if _, err := fmt.Sscanf(sc.Text(), "put %s %d", &id, &v); err != nil {
			continue // test framework chatter
		}
		reported[id] = max(reported[id], v)
		// Kill while Puts are in full swing; lines already in the pipe
		// are still read below, as they were reported before the kill.
		if len(reported) == 300 && !killed {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || !ee.Sys().(syscall.WaitStatus).Signaled() {
		t.Fatalf("child was not killed: %v; stderr: %s", err, stderr.String())
	}
	if len(reported) < 300 {
		t.Fatalf("child reported only %d jobs", len(reported))
	}

	s, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	for id, v := range reported {
		j, ok, err := s.Get(id)
		if err != nil || !ok {
			t.Fatalf("job %s reported written but Get: ok=%v err=%v", id, ok, err)
		}
		// A later, unreported Put may have committed too; never an older one.
		if j.PagesDone < v {
			t.Fatalf("job %s is at version %d, reported %d", id, j.PagesDone, v)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// The file itself is consistent and every value is JSON.
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			return fmt.Errorf("bbolt check: %w", err)
		}
		return tx.Bucket(bucketJobs).ForEach(func(k, v []byte) error {
			if !json.Valid(v) {
				return fmt.Errorf("job %s: invalid JSON %q", k, v)
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("child killed after %d jobs reported", len(reported))
}
