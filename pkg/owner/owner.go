package owner

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Label keys under which an Owner is recorded on a container.
const (
	LabelHost   = "verify-release.owner.host"
	LabelBootID = "verify-release.owner.boot-id"
	LabelPID    = "verify-release.owner.pid"
	LabelStart  = "verify-release.owner.start"
)

// FileName is the owner record written into a temporary directory.
const FileName = ".verify-release-owner.json"

// Owner identifies one process on one boot of one host. Start (the
// process start time in clock ticks since boot, /proc/PID/stat field 22)
// tells a process from a later one that reuses its id.
type Owner struct {
	Host   string `json:"host"`
	BootID string `json:"boot_id"`
	PID    int    `json:"pid"`
	Start  uint64 `json:"start"`
}

// Self returns the Owner of the calling process.
func Self() (Owner, error) {
	host, err := os.Hostname()
	if err != nil {
		return Owner{}, fmt.Errorf("owner: %w", err)
	}
	boot, err := bootID()
	if err != nil {
		return Owner{}, err
	}
	pid := os.Getpid()
	start, err := startTime(pid)
	if err != nil {
		return Owner{}, err
	}
	return Owner{Host: host, BootID: boot, PID: pid, Start: start}, nil
}

func bootID() (string, error) {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return "", fmt.Errorf("owner: boot id: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// startTime reads field 22 of /proc/PID/stat; fs.ErrNotExist when there
// is no such process.
func startTime(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces and parentheses; the
	// fields after it follow the last ')'.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, fmt.Errorf("owner: /proc/%d/stat: no command field", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return 0, fmt.Errorf("owner: /proc/%d/stat: %d fields", pid, len(f))
	}
	return strconv.ParseUint(f[19], 10, 64) // field 22 is the 20th after the name
}

// Gone reports whether o's process has certainly ended: it ran on this
// host, and this host has rebooted since, or no process with its id is
// running, or the one that is started at another time. An owner on
// another host (a shared Docker engine), or one that cannot be checked,
// is not gone.
func (o Owner) Gone() bool {
	host, err := os.Hostname()
	if err != nil || o.Host == "" || o.Host != host || o.PID <= 0 {
		return false
	}
	boot, err := bootID()
	if err != nil {
		return false
	}
	if o.BootID != boot {
		return true
	}
	start, err := startTime(o.PID)
	if errors.Is(err, fs.ErrNotExist) {
		return true
	}
	if err != nil {
		return false
	}
	return start != o.Start
}

// Labels returns o as container labels.
func (o Owner) Labels() map[string]string {
	return map[string]string{
		LabelHost: o.Host, LabelBootID: o.BootID,
		LabelPID: strconv.Itoa(o.PID), LabelStart: strconv.FormatUint(o.Start, 10),
	}
}

// FromLabels reads an Owner from container labels; ok is false when they
// do not carry one (a container made by an older version).
func FromLabels(l map[string]string) (o Owner, ok bool) {
	pid, err1 := strconv.Atoi(l[LabelPID])
	start, err2 := strconv.ParseUint(l[LabelStart], 10, 64)
	if err1 != nil || err2 != nil || l[LabelHost] == "" || l[LabelBootID] == "" {
		return Owner{}, false
	}
	return Owner{Host: l[LabelHost], BootID: l[LabelBootID], PID: pid, Start: start}, true
}

// WriteFile records o in dir (a temporary directory it owns).
func (o Owner) WriteFile(dir string) error {
	b, err := json.Marshal(o)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, FileName), b, 0o644); err != nil {
		return fmt.Errorf("owner: %w", err)
	}
	return nil
}

// ReapDirs removes the directories matching pattern (a filepath.Glob
// pattern, e.g. /tmp/verify-release-*) whose owner record names a process
// that is gone, and returns them. Directories without a record, or whose
// owner may be alive, are left alone.
func ReapDirs(pattern string) ([]string, error) {
	dirs, err := filepath.Glob(pattern)
	if err != nil {
		return nil, fmt.Errorf("owner: %w", err)
	}
	var removed []string
	var errs []error
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, FileName))
		if err != nil {
			continue
		}
		var o Owner
		if json.Unmarshal(b, &o) != nil || !o.Gone() {
			continue
		}
		if err := os.RemoveAll(d); err != nil {
			// A build may leave files only root can remove; make them
			// writable and retry once.
			filepath.WalkDir(d, func(p string, e fs.DirEntry, err error) error {
				if err == nil && e.IsDir() {
					os.Chmod(p, 0o755)
				}
				return nil
			})
			if err := os.RemoveAll(d); err != nil {
				errs = append(errs, fmt.Errorf("owner: removing %s: %w", d, err))
				continue
			}
		}
		removed = append(removed, d)
	}
	return removed, errors.Join(errs...)
}
