package browser

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// browserProcesses lists the live processes of the browser whose main
// process is pid and whose profile is dir: its process group, and any
// process with dir in its command line (the crash handler starts a session
// of its own, but its database lives in the profile). Zombies are dead and
// not listed. It reads /proc.
func browserProcesses(pid int, dir string) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	needle := []byte(dir)
	var pids []int
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil || p == self {
			continue
		}
		pgid, state, ok := procStat(p)
		if !ok || state == 'Z' || state == 'X' {
			continue
		}
		if pid > 0 && pgid == pid {
			pids = append(pids, p)
			continue
		}
		if cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline"); err == nil && bytes.Contains(cmdline, needle) {
			pids = append(pids, p)
		}
	}
	return pids
}

// procStat reads the process group and state of pid from /proc/PID/stat.
func procStat(pid int) (pgid int, state byte, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	// "pid (comm) state ppid pgrp ...": comm may hold spaces and ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 4 || len(f[0]) != 1 {
		return 0, 0, false
	}
	pgid, err = strconv.Atoi(string(f[2]))
	return pgid, f[0][0], err == nil
}

// killTree kills the browser's processes until a look finds none left
// (a child may fork as its parent dies), bounded by two seconds.
func killTree(pid int, dir string) {
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		pids := browserProcesses(pid, dir)
		if len(pids) == 0 {
			return
		}
		for _, p := range pids {
			_ = syscall.Kill(p, syscall.SIGKILL)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// profilePrefix names the temporary profiles, so that those of a bot that
// was killed (no Close) can be found and removed later.
const profilePrefix = "mangabot-chromium-"

// removeStaleProfiles removes the profiles in tmp that no live process
// uses and that are older than a minute (a younger one may belong to a
// browser another bot process is starting right now).
func removeStaleProfiles(tmp string) {
	dirs, _ := filepath.Glob(filepath.Join(tmp, profilePrefix+"*"))
	for _, d := range dirs {
		st, err := os.Stat(d)
		if err != nil || !st.IsDir() || time.Since(st.ModTime()) < time.Minute {
			continue
		}
		if len(browserProcesses(0, d)) == 0 {
			_ = os.RemoveAll(d)
		}
	}
}
