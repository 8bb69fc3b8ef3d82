// TpmKeyStore: the device keys sealed by a TPM 2.0 through tpm2-tss's ESAPI.

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "yardwatch/hal/key_store.h"
#include "yardwatch/hal/unique_fd.h"

namespace yardwatch::hal {

namespace fs = std::filesystem;

namespace {

constexpr const char* kSealedBlobFile = "device-keys.tpm";
constexpr char kBlobMagic[8] = {'Y', 'W', 'T', 'P', 'M', '1', '\n', '\0'};
constexpr size_t kSeedBytes = 32;  // crypto_sign_SEEDBYTES
constexpr size_t kSealedBytes = kMasterKeyBytes + kSeedBytes;

Error tss_error(TSS2_RC rc, const std::string& what) {
  // A TPM that is not there, or in use, is a device that is unavailable; anything else the TPM
  // answered is a refusal we cannot work around here.
  return make_error(
      ErrorKind::kUnavailable, "TPM: " + what + " failed: " + Tss2_RC_Decode(rc) + " (0x" + [rc] {
        char hex[16];
        std::snprintf(hex, sizeof(hex), "%x", rc);
        return std::string(hex);
      }() + ")");
}

// One ESAPI session with the TPM: the TCTI (transport) and the ESYS context, torn down in order.
class TpmConnection {
 public:
  static Result<std::unique_ptr<TpmConnection>> open(const std::string& tcti) {
    std::unique_ptr<TpmConnection> connection(new TpmConnection());
    TSS2_RC rc = Tss2_TctiLdr_Initialize(tcti.c_str(), &connection->tcti_);
    if (rc != TSS2_RC_SUCCESS) return tss_error(rc, "connect to '" + tcti + "'");
    rc = Esys_Initialize(&connection->esys_, connection->tcti_, nullptr);
    if (rc != TSS2_RC_SUCCESS) return tss_error(rc, "initialise ESAPI");
    return connection;
  }
  ~TpmConnection() {
    for (ESYS_TR handle : handles_) Esys_FlushContext(esys_, handle);
    if (esys_ != nullptr) Esys_Finalize(&esys_);
    if (tcti_ != nullptr) Tss2_TctiLdr_Finalize(&tcti_);
  }
  TpmConnection(const TpmConnection&) = delete;
  TpmConnection& operator=(const TpmConnection&) = delete;

  ESYS_CONTEXT* esys() { return esys_; }
  // Transient objects are flushed when the connection goes.
  ESYS_TR keep(ESYS_TR handle) {
    handles_.push_back(handle);
    return handle;
  }

 private:
  TpmConnection() = default;
  TSS2_TCTI_CONTEXT* tcti_ = nullptr;
  ESYS_CONTEXT* esys_ = nullptr;
  std::vector<ESYS_TR> handles_;
};

// Frees an ESAPI output buffer, wiping it first (it may hold key material).
template <typename T>
struct EsysFree {
  void operator()(T* pointer) const {
    if (pointer == nullptr) return;
    sodium_memzero(pointer, sizeof(T));
    Esys_Free(pointer);
  }
};
template <typename T>
using EsysPtr = std::unique_ptr<T, EsysFree<T>>;

// The storage root key: the TCG provisioning guidance's ECC P-256 template under the owner
// hierarchy. The same template and owner seed always give the same key, so it is re-derived at
// each start instead of being made persistent in the TPM's scarce NV memory.
Result<ESYS_TR> create_storage_root_key(TpmConnection& tpm) {
  TPM2B_SENSITIVE_CREATE sensitive{};
  TPM2B_PUBLIC template_public{};
  TPMT_PUBLIC& area = template_public.publicArea;
  area.type = TPM2_ALG_ECC;
  area.nameAlg = TPM2_ALG_SHA256;
  area.objectAttributes = TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT |
                          TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                          TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_NODA;
  area.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_AES;
  area.parameters.eccDetail.symmetric.keyBits.aes = 128;
  area.parameters.eccDetail.symmetric.mode.aes = TPM2_ALG_CFB;
  area.parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
  area.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
  area.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
  area.unique.ecc.x.size = 32;
  area.unique.ecc.y.size = 32;
  TPM2B_DATA outside_info{};
  TPML_PCR_SELECTION creation_pcr{};
  ESYS_TR primary = ESYS_TR_NONE;
  TPM2B_PUBLIC* out_public = nullptr;
  TPM2B_CREATION_DATA* creation_data = nullptr;
  TPM2B_DIGEST* creation_hash = nullptr;
  TPMT_TK_CREATION* creation_ticket = nullptr;
  const TSS2_RC rc =
      Esys_CreatePrimary(tpm.esys(), ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                         &sensitive, &template_public, &outside_info, &creation_pcr, &primary,
                         &out_public, &creation_data, &creation_hash, &creation_ticket);
  Esys_Free(out_public);
  Esys_Free(creation_data);
  Esys_Free(creation_hash);
  Esys_Free(creation_ticket);
  if (rc != TSS2_RC_SUCCESS) return tss_error(rc, "create the storage root key");
  return tpm.keep(primary);
}

Status write_blob(const fs::path& path, const std::vector<uint8_t>& blob) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid()) return errno_error(errno, "create " + path.string());
  size_t written = 0;
  while (written < blob.size()) {
    const ssize_t n = ::write(fd.get(), blob.data() + written, blob.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error(errno, "write " + path.string());
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0) return errno_error(errno, "fsync " + path.string());
  return {};
}

Result<std::vector<uint8_t>> read_blob(const fs::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) return errno_error(errno, "open " + path.string());
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) return errno_error(errno, "stat " + path.string());
  if ((info.st_mode & (S_IRWXG | S_IRWXO)) != 0 || info.st_uid != ::geteuid()) {
    return make_error(ErrorKind::kPermissionDenied,
                      path.string() + " must be private to the user running Yardwatch (0600)");
  }
  if (info.st_size <= 0 || info.st_size > 8192) {
    return make_error(ErrorKind::kDataLoss, path.string() + " is not a sealed key blob");
  }
  std::vector<uint8_t> blob(static_cast<size_t>(info.st_size));
  size_t done = 0;
  while (done < blob.size()) {
    const ssize_t n = ::read(fd.get(), blob.data() + done, blob.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return errno_error(n < 0 ? errno : EIO, "read " + path.string());
    done += static_cast<size_t>(n);
  }
  return blob;
}

// The signing key pair from its seed; the secret key is libsodium's 64-byte form.
SecretBytes signing_key_from_seed(const uint8_t* seed) {
  SecretBytes secret(kSigningSecretKeyBytes);
  std::array<uint8_t, kSigningPublicKeyBytes> public_key{};
  crypto_sign_seed_keypair(public_key.data(), secret.data(), seed);
  return secret;
}

}  // namespace

Result<std::unique_ptr<TpmKeyStore>> TpmKeyStore::create(const fs::path& directory,
                                                         const std::string& tcti) {
  if (sodium_init() < 0) return make_error(ErrorKind::kInternal, "libsodium failed to initialise");
  if (::mkdir(directory.c_str(), 0700) != 0 && errno != EEXIST) {
    return errno_error(errno, "create key directory " + directory.string());
  }
  ::chmod(directory.c_str(), 0700);
  const fs::path blob_path = directory / kSealedBlobFile;
  if (fs::exists(blob_path) || fs::exists(directory / "master.key")) {
    return make_error(ErrorKind::kAlreadyExists,
                      "keys already exist in " + directory.string() + "; refusing to replace them");
  }
  YW_ASSIGN_OR_RETURN(auto tpm, TpmConnection::open(tcti));
  YW_ASSIGN_OR_RETURN(ESYS_TR parent, create_storage_root_key(*tpm));

  SecretBytes sealed(kSealedBytes);
  randombytes_buf(sealed.data(), sealed.size());
  TPM2B_SENSITIVE_CREATE sensitive{};
  sensitive.sensitive.data.size = static_cast<UINT16>(kSealedBytes);
  std::memcpy(sensitive.sensitive.data.buffer, sealed.data(), kSealedBytes);
  TPM2B_PUBLIC template_public{};
  TPMT_PUBLIC& area = template_public.publicArea;
  area.type = TPM2_ALG_KEYEDHASH;
  area.nameAlg = TPM2_ALG_SHA256;
  // A sealed data object: bound to this TPM and this parent, usable with an empty
  // authorisation, outside dictionary-attack lockout (the daemon unseals at every start).
  area.objectAttributes =
      TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_NODA;
  area.parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL;
  TPM2B_DATA outside_info{};
  TPML_PCR_SELECTION creation_pcr{};
  TPM2B_PRIVATE* out_private = nullptr;
  TPM2B_PUBLIC* out_public = nullptr;
  TPM2B_CREATION_DATA* creation_data = nullptr;
  TPM2B_DIGEST* creation_hash = nullptr;
  TPMT_TK_CREATION* creation_ticket = nullptr;
  const TSS2_RC rc =
      Esys_Create(tpm->esys(), parent, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &sensitive,
                  &template_public, &outside_info, &creation_pcr, &out_private, &out_public,
                  &creation_data, &creation_hash, &creation_ticket);
  sodium_memzero(&sensitive, sizeof(sensitive));
  EsysPtr<TPM2B_PRIVATE> private_part(out_private);
  EsysPtr<TPM2B_PUBLIC> public_part(out_public);
  Esys_Free(creation_data);
  Esys_Free(creation_hash);
  Esys_Free(creation_ticket);
  if (rc != TSS2_RC_SUCCESS) return tss_error(rc, "seal the device keys");

  std::vector<uint8_t> blob(sizeof(kBlobMagic) + sizeof(TPM2B_PUBLIC) + sizeof(TPM2B_PRIVATE));
  std::memcpy(blob.data(), kBlobMagic, sizeof(kBlobMagic));
  size_t offset = sizeof(kBlobMagic);
  TSS2_RC marshalled =
      Tss2_MU_TPM2B_PUBLIC_Marshal(public_part.get(), blob.data(), blob.size(), &offset);
  if (marshalled == TSS2_RC_SUCCESS) {
    marshalled =
        Tss2_MU_TPM2B_PRIVATE_Marshal(private_part.get(), blob.data(), blob.size(), &offset);
  }
  if (marshalled != TSS2_RC_SUCCESS) return tss_error(marshalled, "marshal the sealed object");
  blob.resize(offset);
  YW_TRY(write_blob(blob_path, blob));
  UniqueFd dir_fd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.valid()) ::fsync(dir_fd.get());

  SecretBytes master(kMasterKeyBytes);
  std::memcpy(master.data(), sealed.data(), kMasterKeyBytes);
  SecretBytes signing = signing_key_from_seed(sealed.data() + kMasterKeyBytes);
  return std::unique_ptr<TpmKeyStore>(new TpmKeyStore(std::move(master), std::move(signing)));
}

Result<std::unique_ptr<TpmKeyStore>> TpmKeyStore::open(const fs::path& directory,
                                                       const std::string& tcti) {
  if (sodium_init() < 0) return make_error(ErrorKind::kInternal, "libsodium failed to initialise");
  struct stat info {};
  if (::stat(directory.c_str(), &info) != 0) {
    return errno_error(errno, "key directory " + directory.string() + " (run `yardwatch init`)");
  }
  if ((info.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return make_error(ErrorKind::kPermissionDenied,
                      directory.string() + " is accessible to other users; refusing to use it");
  }
  const fs::path blob_path = directory / kSealedBlobFile;
  YW_ASSIGN_OR_RETURN(auto blob, read_blob(blob_path));
  if (blob.size() < sizeof(kBlobMagic) ||
      std::memcmp(blob.data(), kBlobMagic, sizeof(kBlobMagic)) != 0) {
    return make_error(ErrorKind::kDataLoss, blob_path.string() + " is not a sealed key blob");
  }
  TPM2B_PUBLIC public_part{};
  TPM2B_PRIVATE private_part{};
  size_t offset = sizeof(kBlobMagic);
  TSS2_RC rc = Tss2_MU_TPM2B_PUBLIC_Unmarshal(blob.data(), blob.size(), &offset, &public_part);
  if (rc == TSS2_RC_SUCCESS) {
    rc = Tss2_MU_TPM2B_PRIVATE_Unmarshal(blob.data(), blob.size(), &offset, &private_part);
  }
  if (rc != TSS2_RC_SUCCESS || offset != blob.size()) {
    return make_error(ErrorKind::kDataLoss, blob_path.string() + " is damaged");
  }
  YW_ASSIGN_OR_RETURN(auto tpm, TpmConnection::open(tcti));
  YW_ASSIGN_OR_RETURN(ESYS_TR parent, create_storage_root_key(*tpm));
  ESYS_TR object = ESYS_TR_NONE;
  rc = Esys_Load(tpm->esys(), parent, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &private_part,
                 &public_part, &object);
  if (rc != TSS2_RC_SUCCESS) {
    return tss_error(rc,
                     "load the sealed device keys (another TPM, or a TPM cleared by a factory "
                     "reset, cannot open them)");
  }
  tpm->keep(object);
  TPM2B_SENSITIVE_DATA* out_data = nullptr;
  rc = Esys_Unseal(tpm->esys(), object, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &out_data);
  EsysPtr<TPM2B_SENSITIVE_DATA> data(out_data);
  if (rc != TSS2_RC_SUCCESS) return tss_error(rc, "unseal the device keys");
  if (data->size != kSealedBytes) {
    return make_error(ErrorKind::kDataLoss, "the TPM returned a sealed object of the wrong size");
  }
  SecretBytes master(kMasterKeyBytes);
  std::memcpy(master.data(), data->buffer, kMasterKeyBytes);
  SecretBytes signing = signing_key_from_seed(data->buffer + kMasterKeyBytes);
  return std::unique_ptr<TpmKeyStore>(new TpmKeyStore(std::move(master), std::move(signing)));
}

Status TpmKeyStore::clear_tpm(const std::string& tcti) {
  YW_ASSIGN_OR_RETURN(auto tpm, TpmConnection::open(tcti));
  const TSS2_RC rc =
      Esys_Clear(tpm->esys(), ESYS_TR_RH_LOCKOUT, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE);
  if (rc != TSS2_RC_SUCCESS) {
    return tss_error(rc,
                     "clear the TPM (a lockout password or disableClear prevents it; clear it "
                     "from the firmware setup instead)");
  }
  return {};
}

std::array<uint8_t, kSigningPublicKeyBytes> TpmKeyStore::signing_public_key() const {
  std::array<uint8_t, kSigningPublicKeyBytes> public_key{};
  crypto_sign_ed25519_sk_to_pk(public_key.data(), signing_key_.data());
  return public_key;
}

}  // namespace yardwatch::hal
