package loadgen

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, which Linux fixes at 100 on every architecture Go
// supports for /proc/<pid>/stat.
const clockTicks = 100

// ProcCPUSeconds returns utime+stime of pid in seconds (/proc/<pid>/stat).
func ProcCPUSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; fields after it start
	// after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("proc stat %d: malformed", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime is field 14, stime field 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("proc stat %d: short", pid)
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("proc stat %d: bad times", pid)
	}
	return float64(ut+st) / clockTicks, nil
}

// ProcRSSKiB returns VmRSS of pid in KiB (/proc/<pid>/status).
func ProcRSSKiB(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) == 0 {
				break
			}
			return strconv.ParseInt(f[0], 10, 64)
		}
	}
	return 0, fmt.Errorf("proc status %d: no VmRSS", pid)
}

// ProcIO is the I/O accounting of a process (/proc/<pid>/io): read and
// write system calls and the bytes they moved (sockets included).
type ProcIO struct {
	SysCR, SysCW uint64
	RChar, WChar uint64
}

// ReadProcIO reads /proc/<pid>/io.
func ReadProcIO(pid int) (ProcIO, error) {
	var io ProcIO
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return io, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		if err != nil {
			continue
		}
		switch k {
		case "syscr":
			io.SysCR = n
		case "syscw":
			io.SysCW = n
		case "rchar":
			io.RChar = n
		case "wchar":
			io.WChar = n
		}
	}
	return io, nil
}

// MachineCPU is the machine-wide CPU time from /proc/stat (all cores),
// in seconds: busy (everything but idle and iowait) and total.
type MachineCPU struct {
	Busy, Total float64
}

// ReadMachineCPU reads the aggregate "cpu" line of /proc/stat.
func ReadMachineCPU() (MachineCPU, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return MachineCPU{}, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return MachineCPU{}, fmt.Errorf("proc stat: no cpu line")
	}
	var m MachineCPU
	for i, v := range f[1:] {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return MachineCPU{}, err
		}
		t := float64(n) / clockTicks
		m.Total += t
		if i != 3 && i != 4 { // idle, iowait
			m.Busy += t
		}
	}
	return m, nil
}

// LoadAvg returns the first three fields of /proc/loadavg.
func LoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}
