#include "yardwatch/firmware/tls_certificate.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <memory>
#include <system_error>
#include <vector>

#include "private_file.h"
#include "yardwatch/hal/unique_fd.h"

namespace yardwatch::firmware {

namespace {

namespace fs = std::filesystem;

// RAII for the OpenSSL objects used here (STYLE: every C handle is owned).
struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct X509Free {
  void operator()(X509* certificate) const { X509_free(certificate); }
};
struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct ExtensionFree {
  void operator()(X509_EXTENSION* extension) const { X509_EXTENSION_free(extension); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Certificate = std::unique_ptr<X509, X509Free>;
using Bio = std::unique_ptr<BIO, BioFree>;
using Extension = std::unique_ptr<X509_EXTENSION, ExtensionFree>;

Error openssl_error(const std::string& what) {
  return make_error(ErrorKind::kInternal, "TLS certificate: " + what + " failed (OpenSSL)");
}

std::string bio_contents(BIO* bio) {
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio, &data);
  return length > 0 ? std::string(data, static_cast<size_t>(length)) : std::string();
}

Status add_extension(X509* certificate, int nid, const char* value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, certificate, certificate, nullptr, nullptr, 0);
  Extension extension(X509V3_EXT_conf_nid(nullptr, &context, nid, value));
  if (!extension || X509_add_ext(certificate, extension.get(), -1) != 1) {
    return openssl_error("adding an extension");
  }
  return {};
}

}  // namespace

TlsFiles tls_files(const fs::path& key_dir) { return {key_dir / "tls.crt", key_dir / "tls.key"}; }

Status ensure_tls_certificate(const fs::path& key_dir, const std::string& device_id,
                              int64_t now_utc_us) {
  const TlsFiles files = tls_files(key_dir);
  std::error_code error;
  const bool have_certificate = fs::exists(files.certificate, error);
  const bool have_key = fs::exists(files.private_key, error);
  if (have_certificate && have_key) return {};
  if (have_certificate != have_key) {
    return make_error(ErrorKind::kFailedPrecondition,
                      "the key directory holds only one of tls.crt and tls.key; install both or "
                      "remove the other to have a new self-signed certificate generated");
  }

  // ECDSA P-256: accepted by every browser (Chromium takes no Ed25519 server certificates).
  Pkey key(EVP_EC_gen("P-256"));
  if (!key) return openssl_error("generating the P-256 key");
  Certificate certificate(X509_new());
  if (!certificate) return openssl_error("allocating the certificate");
  X509_set_version(certificate.get(), 2);  // v3
  unsigned char serial_bytes[16];
  if (RAND_bytes(serial_bytes, sizeof(serial_bytes)) != 1) return openssl_error("RAND_bytes");
  serial_bytes[0] &= 0x7F;  // a positive serial number
  BIGNUM* serial = BN_bin2bn(serial_bytes, sizeof(serial_bytes), nullptr);
  if (serial == nullptr) return openssl_error("the serial number");
  BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(certificate.get()));
  BN_free(serial);
  // Times from hal::Clock (never the system clock directly): a day of slack for boards whose
  // clock is still being set, ten years of validity (a school LAN appliance, not a public site).
  const time_t now_seconds = static_cast<time_t>(now_utc_us / 1'000'000);
  constexpr long kDay = 24 * 3600;
  if (ASN1_TIME_adj(X509_getm_notBefore(certificate.get()), now_seconds, 0, -kDay) == nullptr ||
      ASN1_TIME_adj(X509_getm_notAfter(certificate.get()), now_seconds, 3652, 0) == nullptr) {
    return openssl_error("setting the validity");
  }
  X509_set_pubkey(certificate.get(), key.get());
  X509_NAME* name = X509_get_subject_name(certificate.get());
  const std::string common_name = "Yardwatch " + device_id.substr(0, 40);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("Yardwatch"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  X509_set_issuer_name(certificate.get(), name);
  YW_TRY(add_extension(certificate.get(), NID_basic_constraints, "critical,CA:FALSE"));
  YW_TRY(add_extension(certificate.get(), NID_key_usage, "critical,digitalSignature"));
  YW_TRY(add_extension(certificate.get(), NID_ext_key_usage, "serverAuth"));
  YW_TRY(add_extension(certificate.get(), NID_subject_key_identifier, "hash"));
  YW_TRY(add_extension(certificate.get(), NID_subject_alt_name,
                       "DNS:localhost,DNS:yardwatch.local,IP:127.0.0.1,IP:::1"));
  if (X509_sign(certificate.get(), key.get(), EVP_sha256()) == 0) {
    return openssl_error("signing the certificate");
  }

  Bio key_pem(BIO_new(BIO_s_mem()));
  Bio certificate_pem(BIO_new(BIO_s_mem()));
  if (!key_pem || !certificate_pem ||
      PEM_write_bio_PrivateKey(key_pem.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) !=
          1 ||
      PEM_write_bio_X509(certificate_pem.get(), certificate.get()) != 1) {
    return openssl_error("encoding PEM");
  }
  std::string key_text = bio_contents(key_pem.get());
  YW_TRY(write_private_file(files.private_key, key_text));
  OPENSSL_cleanse(key_text.data(), key_text.size());
  YW_TRY(write_private_file(files.certificate, bio_contents(certificate_pem.get())));
  hal::UniqueFd directory(::open(key_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (directory.valid()) (void)::fsync(directory.get());
  return {};
}

Result<std::string> tls_certificate_fingerprint(const fs::path& certificate_path) {
  Bio file(BIO_new_file(certificate_path.c_str(), "r"));
  if (!file) {
    return make_error(ErrorKind::kNotFound, "no TLS certificate at " + certificate_path.string());
  }
  Certificate certificate(PEM_read_bio_X509(file.get(), nullptr, nullptr, nullptr));
  if (!certificate) {
    return make_error(ErrorKind::kDataLoss,
                      certificate_path.string() + " is not a PEM certificate");
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (X509_digest(certificate.get(), EVP_sha256(), digest, &length) != 1) {
    return openssl_error("the fingerprint");
  }
  constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    if (i != 0) out += ':';
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0x0F];
  }
  return out;
}

}  // namespace yardwatch::firmware
