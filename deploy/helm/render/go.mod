// No requirements listed: the checks build this in GOPATH mode against Debian's packaged sources
// (see main.go). This file is still needed there: it lets Go map sprig's /v3 import path.
module spillway/helm-render

go 1.19
