// Command nfpm is a deb-only stand-in for nfpm's CLI, built by bench/build-nfpm.sh against nfpm's
// own library code. nfpm's cmd/ needs cobra, mango and jsonschema, which are not obtainable here;
// this implements just `nfpm package [-f CONFIG] [-p deb] [-t TARGET]` with nfpm's public API, in
// the order nfpm's internal/cmd/package.go uses it, so the package bytes are nfpm's.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path"
	"path/filepath"

	"github.com/goreleaser/nfpm/v2"
	_ "github.com/goreleaser/nfpm/v2/deb" // registers the deb packager
)

func main() {
	if len(os.Args) < 2 || (os.Args[1] != "package" && os.Args[1] != "pkg" && os.Args[1] != "p") {
		fmt.Fprintln(os.Stderr, "usage: nfpm package [-f nfpm.yaml] [-p deb] [-t target]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet("package", flag.ExitOnError)
	config := fs.String("f", "nfpm.yaml", "config file to be used")
	target := fs.String("t", "", "where to save the generated package (filename, folder or empty for current folder)")
	packager := fs.String("p", "", "which packager implementation to use (deb only in this build)")
	_ = fs.Parse(os.Args[2:])
	if err := doPackage(*config, *target, *packager); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func doPackage(configPath, target, packager string) error {
	targetIsADirectory := false
	if stat, err := os.Stat(target); err == nil && stat.IsDir() {
		targetIsADirectory = true
	}
	if packager == "" {
		ext := filepath.Ext(target)
		if targetIsADirectory || ext == "" {
			return errors.New("a packager must be specified if target is a directory or blank")
		}
		packager = ext[1:]
	}
	config, err := nfpm.ParseFile(configPath)
	if err != nil {
		return err
	}
	info, err := config.Get(packager)
	if err != nil {
		return err
	}
	info = nfpm.WithDefaults(info)
	pkg, err := nfpm.Get(packager)
	if err != nil {
		return err
	}
	if target == "" {
		target = pkg.ConventionalFileName(info)
	} else if targetIsADirectory {
		target = path.Join(target, pkg.ConventionalFileName(info))
	}
	f, err := os.Create(target)
	if err != nil {
		return err
	}
	defer f.Close()
	info.Target = target
	if err := pkg.Package(info, f); err != nil {
		os.Remove(target)
		return err
	}
	fmt.Printf("created package: %s\n", target)
	return f.Close()
}
