package mux

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"time"
)

// SelfSignedCertificate makes a certificate for localhost, 127.0.0.1 and ::1,
// valid for a year, with a fresh P-256 key. It lives only in memory: browsers
// must be told to trust it or to ignore certificate errors.
func SelfSignedCertificate() (*tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("mux: generating a key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return nil, fmt.Errorf("mux: generating a serial number: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{"muxlab demo"}, CommonName: "localhost"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("mux: creating a certificate: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("mux: encoding the key: %w", err)
	}
	cert, err := tls.X509KeyPair(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
	if err != nil {
		return nil, fmt.Errorf("mux: %w", err)
	}
	return &cert, nil
}

// CertFileError says which of the two files of a certificate is wrong.
type CertFileError struct {
	Which string // "cert" or "key"
	File  string
	Err   error
}

func (e *CertFileError) Error() string {
	return fmt.Sprintf("mux: %s file %s: %v", e.Which, e.File, e.Err)
}

func (e *CertFileError) Unwrap() error { return e.Err }

// LoadCertificate reads a PEM certificate (chain) and its PEM key. An error
// names the file at fault.
func LoadCertificate(certFile, keyFile string) (*tls.Certificate, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, &CertFileError{"cert", certFile, err}
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, &CertFileError{"key", keyFile, err}
	}
	if b, _ := pem.Decode(certPEM); b == nil || b.Type != "CERTIFICATE" {
		return nil, &CertFileError{"cert", certFile, fmt.Errorf("no PEM CERTIFICATE block")}
	}
	if b, _ := pem.Decode(keyPEM); b == nil {
		return nil, &CertFileError{"key", keyFile, fmt.Errorf("no PEM private key block")}
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, &CertFileError{"key", keyFile, fmt.Errorf("does not match %s or cannot be read: %w", certFile, err)}
	}
	return &cert, nil
}

// SPKIHash is the base64 SHA-256 of cert's public key, as Chromium's
// --ignore-certificate-errors-spki-list takes it; empty for no certificate.
func SPKIHash(cert *tls.Certificate) string {
	if cert == nil || len(cert.Certificate) == 0 {
		return ""
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(leaf.RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}
