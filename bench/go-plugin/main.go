// go-plugin anchor: the native Go plugin an SFTPGo admin writes by hand,
// doing what the `ipfilter-cidr` and `auth-file` examples do, so the
// benchmark can put `hookhost plugin` + a wasm component beside it. Both
// are called the same way: by go-plugin's own client (the tests'
// goplugin-host), over go-plugin's unix socket, without AutoMTLS.
//
// Usage (launched by go-plugin, with SFTPGo's magic cookie set):
//
//	go-plugin -kind ipfilter CIDR...   allow the ranges, refuse the rest
//	go-plugin -kind auth USERS.json    bcrypt passwords of a JSON user list
//
// Like the wasm examples, each check reads its ranges / its user file
// again (they are arguments and a file an admin edits), then answers as
// SFTPGo's SDK servers do: an error is a refusal.
//
// Built in GOPATH mode with Debian's packages (go-plugin 1.0.1, grpc-go,
// golang/protobuf, golang.org/x/crypto) and the message types protoc
// generates from hookhost/proto/sftpgo (package hookhosttest/pb), as the
// tests' go-plugin host is.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/ioutil"
	"net"
	"os"

	"github.com/golang/protobuf/ptypes/empty"
	"github.com/hashicorp/go-plugin"
	"golang.org/x/crypto/bcrypt"
	"google.golang.org/grpc"

	pb "hookhosttest/pb"
)

var cookies = map[string][2]string{
	"auth":     {"SFTPGO_PLUGIN_AUTH", "d1ed507d-d2be-4a38-a460-6fe0b2cc7efc"},
	"ipfilter": {"SFTPGO_PLUGIN_IPFILTER", "368dbdab-4839-4bec-b75f-fc74a2d50f24"},
}

var errInvalid = errors.New("invalid credentials")

// --- ipfilter ---------------------------------------------------------------

type ipFilter struct{ ranges []string }

func (f ipFilter) checkIP(ip string) error {
	addr := net.ParseIP(ip)
	if addr == nil {
		return fmt.Errorf("%q is not an IP address", ip)
	}
	for _, spec := range f.ranges {
		_, network, err := net.ParseCIDR(spec)
		if err != nil {
			single := net.ParseIP(spec)
			if single == nil {
				return fmt.Errorf("%q is not an IP range", spec)
			}
			if single.Equal(addr) {
				return nil
			}
			continue
		}
		if network.Contains(addr) {
			return nil
		}
	}
	return fmt.Errorf("%s is not allowed", ip)
}

var ipFilterService = grpc.ServiceDesc{
	ServiceName: "proto.IPFilter",
	HandlerType: (*interface{})(nil),
	Methods: []grpc.MethodDesc{
		{MethodName: "CheckIP", Handler: func(srv interface{}, ctx context.Context, dec func(interface{}) error, _ grpc.UnaryServerInterceptor) (interface{}, error) {
			request := new(pb.CheckIPRequest)
			if err := dec(request); err != nil {
				return nil, err
			}
			if err := srv.(ipFilter).checkIP(request.Ip); err != nil {
				return nil, err
			}
			return &empty.Empty{}, nil
		}},
		{MethodName: "Reload", Handler: func(srv interface{}, ctx context.Context, dec func(interface{}) error, _ grpc.UnaryServerInterceptor) (interface{}, error) {
			if err := dec(new(empty.Empty)); err != nil {
				return nil, err
			}
			return &empty.Empty{}, nil
		}},
	},
	Streams: []grpc.StreamDesc{},
}

// --- auth ---------------------------------------------------------------------

type fileAuth struct{ path string }

func (a fileAuth) checkUserAndPass(username, password string) ([]byte, error) {
	text, err := ioutil.ReadFile(a.path)
	if err != nil {
		return nil, err
	}
	var users []map[string]interface{}
	if err := json.Unmarshal(text, &users); err != nil {
		return nil, fmt.Errorf("%s: %v", a.path, err)
	}
	for _, user := range users {
		if user["username"] != username {
			continue
		}
		hash, _ := user["password"].(string)
		if password == "" || bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil {
			return nil, errInvalid
		}
		delete(user, "password")
		return json.Marshal(user)
	}
	return nil, errInvalid
}

var authService = grpc.ServiceDesc{
	ServiceName: "proto.Auth",
	HandlerType: (*interface{})(nil),
	Methods: []grpc.MethodDesc{
		{MethodName: "CheckUserAndPass", Handler: func(srv interface{}, ctx context.Context, dec func(interface{}) error, _ grpc.UnaryServerInterceptor) (interface{}, error) {
			request := new(pb.CheckUserAndPassRequest)
			if err := dec(request); err != nil {
				return nil, err
			}
			user, err := srv.(fileAuth).checkUserAndPass(request.Username, request.Password)
			if err != nil {
				return nil, err
			}
			return &pb.AuthResponse{User: user}, nil
		}},
	},
	Streams: []grpc.StreamDesc{},
}

// --- go-plugin ----------------------------------------------------------------

type servePlugin struct {
	plugin.Plugin
	desc *grpc.ServiceDesc
	impl interface{}
}

func (p servePlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	s.RegisterService(p.desc, p.impl)
	return nil
}

func (servePlugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (interface{}, error) {
	return nil, errors.New("a plugin, not a host")
}

func main() {
	kind := flag.String("kind", "", "ipfilter or auth")
	flag.Parse()
	var served servePlugin
	switch *kind {
	case "ipfilter":
		served = servePlugin{desc: &ipFilterService, impl: ipFilter{ranges: flag.Args()}}
	case "auth":
		if flag.NArg() != 1 {
			fmt.Fprintln(os.Stderr, "usage: go-plugin -kind auth USERS.json")
			os.Exit(2)
		}
		served = servePlugin{desc: &authService, impl: fileAuth{path: flag.Arg(0)}}
	default:
		fmt.Fprintln(os.Stderr, "usage: go-plugin -kind ipfilter|auth ARGS...")
		os.Exit(2)
	}
	cookie := cookies[*kind]
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: plugin.HandshakeConfig{
			ProtocolVersion:  1,
			MagicCookieKey:   cookie[0],
			MagicCookieValue: cookie[1],
		},
		Plugins:    map[string]plugin.Plugin{*kind: served},
		GRPCServer: plugin.DefaultGRPCServer,
	})
}
