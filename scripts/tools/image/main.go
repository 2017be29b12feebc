// Command image writes a single-layer OCI image from files on disk, without a
// container engine or a registry: an empty base, one layer holding the given
// files (plus /etc/passwd and /etc/group naming the image's non-root user and
// an empty /tmp), and a config with user, entrypoint, exposed ports, labels and
// a fixed creation time. It writes an OCI image layout directory and, if asked,
// a `docker load` / `podman load` tarball. scripts/build_relay_image.sh runs it
// for the relay (docs/images.md).
//
// Usage:
//
//	image -layout DIR [-tarball FILE] -tag REF -entrypoint /path
//	      -file SRC=/dest[:mode] ... [-port 8100/tcp ...] [-label k=v ...]
//	      [-user 65532:65532] [-created RFC3339]
package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// repeated collects a flag given more than once.
type repeated []string

func (r *repeated) String() string     { return strings.Join(*r, ",") }
func (r *repeated) Set(v string) error { *r = append(*r, v); return nil }

// file is one file the layer holds: its bytes, where, and its mode.
type file struct {
	dest string
	mode int64
	data []byte
}

type options struct {
	layoutDir, tarballPath, tag, entrypoint, user, created string
	files, ports, labels                                   repeated
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	var o options
	fs := flag.NewFlagSet("image", flag.ContinueOnError)
	fs.StringVar(&o.layoutDir, "layout", "", "OCI image layout directory to write (required; must not exist)")
	fs.StringVar(&o.tarballPath, "tarball", "", "also write a docker/podman-loadable tarball here")
	fs.StringVar(&o.tag, "tag", "", "image reference, e.g. ghcr.io/plaza-dev/plaza-relay:0.1.0 (required)")
	fs.StringVar(&o.entrypoint, "entrypoint", "", "absolute path of the program in the image (required)")
	fs.StringVar(&o.user, "user", "65532:65532", "numeric uid:gid the image runs as (not 0)")
	fs.StringVar(&o.created, "created", "1970-01-01T00:00:00Z", "creation time (RFC 3339) for config and file times")
	fs.Var(&o.files, "file", "SRC=/dest[:octal mode] to put in the layer (repeatable; mode defaults to 0644)")
	fs.Var(&o.ports, "port", "exposed port, e.g. 8100/tcp (repeatable)")
	fs.Var(&o.labels, "label", "config label key=value (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	img, ref, err := build(o)
	if err != nil {
		return err
	}
	if _, err := os.Stat(o.layoutDir); err == nil {
		return fmt.Errorf("-layout %s already exists", o.layoutDir)
	}
	lp, err := layout.Write(o.layoutDir, empty.Index)
	if err != nil {
		return err
	}
	if err := lp.AppendImage(img, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": ref.Name(),
	})); err != nil {
		return err
	}
	if o.tarballPath != "" {
		if err := tarball.WriteToFile(o.tarballPath, ref, img); err != nil {
			return err
		}
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	fmt.Printf("%s@%s\n", ref.Name(), digest)
	return nil
}

func build(o options) (v1.Image, name.Tag, error) {
	if o.layoutDir == "" || o.tag == "" || o.entrypoint == "" {
		return nil, name.Tag{}, errors.New("-layout, -tag and -entrypoint are required")
	}
	ref, err := name.NewTag(o.tag)
	if err != nil {
		return nil, name.Tag{}, fmt.Errorf("-tag: %w", err)
	}
	created, err := time.Parse(time.RFC3339, o.created)
	if err != nil {
		return nil, name.Tag{}, fmt.Errorf("-created: %w", err)
	}
	uid, gid, err := parseUser(o.user)
	if err != nil {
		return nil, name.Tag{}, err
	}
	files, err := readFiles(o.files)
	if err != nil {
		return nil, name.Tag{}, err
	}
	if !hasFile(files, o.entrypoint) {
		return nil, name.Tag{}, fmt.Errorf("-entrypoint %s is not one of the -file destinations", o.entrypoint)
	}
	files = append(files,
		file{"/etc/passwd", 0o644, fmt.Appendf(nil, "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:/home/nonroot:/sbin/nologin\n", uid, gid)},
		file{"/etc/group", 0o644, fmt.Appendf(nil, "root:x:0:\nnonroot:x:%d:\n", gid)},
	)
	layerTar, err := layerBytes(files, created)
	if err != nil {
		return nil, name.Tag{}, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, name.Tag{}, err
	}
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.Append(base, mutate.Addendum{
		Layer:     layer,
		History:   v1.History{Created: v1.Time{Time: created}, CreatedBy: "scripts/tools/image", Comment: "plaza files"},
		MediaType: types.OCILayer,
	})
	if err != nil {
		return nil, name.Tag{}, err
	}
	labels, err := parseLabels(o.labels)
	if err != nil {
		return nil, name.Tag{}, err
	}
	ports := map[string]struct{}{}
	for _, p := range o.ports {
		if !validPort(p) {
			return nil, name.Tag{}, fmt.Errorf("-port %q: want NUMBER/tcp or NUMBER/udp", p)
		}
		ports[p] = struct{}{}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, name.Tag{}, err
	}
	cf = cf.DeepCopy()
	cf.Architecture = runtime.GOARCH
	cf.OS = "linux"
	cf.Created = v1.Time{Time: created}
	cf.Config = v1.Config{
		User:         o.user,
		Entrypoint:   []string{o.entrypoint},
		WorkingDir:   "/",
		Labels:       labels,
		ExposedPorts: ports,
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, name.Tag{}, err
	}
	return img, ref, nil
}

func parseUser(user string) (uid, gid int, err error) {
	u, g, ok := strings.Cut(user, ":")
	if !ok {
		return 0, 0, fmt.Errorf("-user %q: want numeric uid:gid", user)
	}
	if uid, err = strconv.Atoi(u); err != nil || uid <= 0 {
		return 0, 0, fmt.Errorf("-user %q: uid must be a number above 0", user)
	}
	if gid, err = strconv.Atoi(g); err != nil || gid <= 0 {
		return 0, 0, fmt.Errorf("-user %q: gid must be a number above 0", user)
	}
	return uid, gid, nil
}

func parseLabels(kvs []string) (map[string]string, error) {
	labels := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("-label %q: want key=value", kv)
		}
		labels[k] = v
	}
	return labels, nil
}

func validPort(p string) bool {
	n, proto, ok := strings.Cut(p, "/")
	num, err := strconv.Atoi(n)
	return ok && err == nil && num > 0 && num < 65536 && (proto == "tcp" || proto == "udp")
}

func readFiles(specs []string) ([]file, error) {
	var files []file
	for _, spec := range specs {
		src, dest, ok := strings.Cut(spec, "=")
		if !ok {
			return nil, fmt.Errorf("-file %q: want SRC=/dest[:mode]", spec)
		}
		mode := int64(0o644)
		if d, m, hasMode := strings.Cut(dest, ":"); hasMode {
			parsed, err := strconv.ParseInt(m, 8, 32)
			if err != nil || parsed&^0o777 != 0 {
				return nil, fmt.Errorf("-file %q: mode %q is not octal permission bits", spec, m)
			}
			dest, mode = d, parsed
		}
		if !path.IsAbs(dest) || path.Clean(dest) != dest {
			return nil, fmt.Errorf("-file %q: destination must be a clean absolute path", spec)
		}
		data, err := os.ReadFile(src)
		if err != nil {
			return nil, err
		}
		files = append(files, file{dest, mode, data})
	}
	return files, nil
}

func hasFile(files []file, dest string) bool {
	for _, f := range files {
		if f.dest == dest {
			return true
		}
	}
	return false
}

// layerBytes is the uncompressed layer: parent directories (0755, root-owned),
// /tmp (1777), then the files, all in sorted order with the same time.
func layerBytes(files []file, mtime time.Time) ([]byte, error) {
	dirs := map[string]int64{"/tmp": 0o1777}
	for _, f := range files {
		for d := path.Dir(f.dest); d != "/"; d = path.Dir(d) {
			if _, seen := dirs[d]; !seen {
				dirs[d] = 0o755
			}
		}
	}
	names := make([]string, 0, len(dirs))
	for d := range dirs {
		names = append(names, d)
	}
	sort.Strings(names)
	sort.Slice(files, func(i, j int) bool { return files[i].dest < files[j].dest })

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, d := range names {
		if err := tw.WriteHeader(&tar.Header{
			Typeflag: tar.TypeDir, Name: strings.TrimPrefix(d, "/") + "/", Mode: dirs[d],
			ModTime: mtime, Format: tar.FormatPAX,
		}); err != nil {
			return nil, err
		}
	}
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{
			Typeflag: tar.TypeReg, Name: strings.TrimPrefix(f.dest, "/"), Mode: f.mode,
			Size: int64(len(f.data)), ModTime: mtime, Format: tar.FormatPAX,
		}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
