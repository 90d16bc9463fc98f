// Command gen-csharp writes the C# SDK of a Pulumi package schema: gen-csharp <schema.json> <output dir>.
//
// No .NET language host is built for this repository's pinned toolchain, so the release generates the C# SDK
// with the code generator of the same Pulumi version as its other hosts (pkg/v3 v3.192.0, codegen/dotnet).
// The SDK is released as source and is untested: NuGet is not reachable where this project is tested.
//
// The generator downloads the schema's logoUrl for the NuGet icon; this command makes no network request:
// it answers that download itself with a PNG rendering of docs/logo.svg's colours (NuGet icons must be PNG).
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"

	"github.com/pulumi/pulumi/pkg/v3/codegen/dotnet"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "gen-csharp:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("usage: gen-csharp <schema.json> <output dir>")
	}
	data, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	var spec schema.PackageSpec
	if err := json.Unmarshal(data, &spec); err != nil {
		return fmt.Errorf("%s: %w", args[0], err)
	}
	pkg, err := schema.ImportSpec(spec, map[string]schema.Language{"csharp": dotnet.Importer}, schema.ValidationOptions{})
	if err != nil {
		return err
	}
	icon, err := logo()
	if err != nil {
		return err
	}
	http.DefaultTransport = offline{url: pkg.LogoURL, body: icon}
	files, err := dotnet.GeneratePackage("bandwidth-pulumi gen-csharp", pkg, nil, nil)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		path := filepath.Join(args[1], filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, files[name], 0o644); err != nil {
			return err
		}
	}
	return nil
}

// offline answers the generator's one download, the logo, and refuses any other request.
type offline struct {
	url  string
	body []byte
}

func (o offline) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.String() != o.url {
		return nil, fmt.Errorf("gen-csharp makes no network request (asked for %s)", req.URL)
	}
	return &http.Response{
		StatusCode: http.StatusOK,
		Header:     http.Header{"Content-Type": []string{"image/png"}},
		Body:       io.NopCloser(bytes.NewReader(o.body)),
		Request:    req,
	}, nil
}

// logo renders a 64x64 PNG in docs/logo.svg's colours: the navy tile with its yellow dot.
func logo() ([]byte, error) {
	navy := color.NRGBA{0x0a, 0x25, 0x40, 0xff}
	cyan := color.NRGBA{0x39, 0xd0, 0xff, 0xff}
	yellow := color.NRGBA{0xf7, 0xb5, 0x00, 0xff}
	img := image.NewNRGBA(image.Rect(0, 0, 64, 64))
	for y := 0; y < 64; y++ {
		for x := 0; x < 64; x++ {
			c := navy
			if dx, dy := x-52, y-24; dx*dx+dy*dy <= 25 {
				c = yellow
			} else if x >= 12 && x <= 47 && (y-(40-(x-12)/3)) >= -2 && (y-(40-(x-12)/3)) <= 2 {
				c = cyan
			}
			img.SetNRGBA(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
