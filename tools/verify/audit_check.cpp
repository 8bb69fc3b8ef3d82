#include "audit_check.h"

#include <algorithm>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <span>
#include <utility>

#include "yardwatch/firmware/audit_format.h"

namespace yardwatch::verify {

namespace {

namespace format = firmware::audit_format;
using nlohmann::json;

// Far above anything the journal accepts (4 KiB per field, 16 KiB of details); it only keeps a
// hostile file from making us hash gigabytes.
constexpr size_t kMaxStringBytes = 1024 * 1024;

// A line that is not what the export format says. Thrown and caught inside this file only.
struct Malformed {
  std::string message;
};

struct ParsedEntry {
  int64_t seq = 0;
  int64_t line = 0;
  int64_t time_utc_us = 0;
  std::vector<uint8_t> prev_hash;
  format::Hash hash{};
  bool hash_holds = false;                // the stored hash matches the contents at this seq
  std::optional<int64_t> written_as_seq;  // where it does match, if it was moved
};

struct ParsedCheckpoint {
  int64_t seq = 0;
  int64_t line = 0;
  std::vector<uint8_t> head_hash;
  int64_t time_utc_us = 0;
  std::vector<uint8_t> public_key;
  std::vector<uint8_t> signature;
};

// The boundary pruning left: the last pruned entry's seq and hash, signed by the device.
struct ParsedAnchor {
  int64_t seq = 0;
  int64_t line = 0;
  std::vector<uint8_t> hash;
  int64_t time_utc_us = 0;
  std::vector<uint8_t> public_key;
  std::vector<uint8_t> signature;
};

struct Failure {
  int64_t seq = 0;
  std::string problem;
};

const json& field(const json& object, const char* key) {
  auto found = object.find(key);
  if (found == object.end()) throw Malformed{std::string("field '") + key + "' is missing"};
  return *found;
}

std::string get_string(const json& object, const char* key) {
  const json& value = field(object, key);
  if (!value.is_string()) throw Malformed{std::string("field '") + key + "' is not a string"};
  const auto& text = value.get_ref<const std::string&>();
  if (text.size() > kMaxStringBytes) throw Malformed{std::string("field '") + key + "' too long"};
  return text;
}

int64_t as_integer(const json& value, const char* key) {
  if (value.is_number_unsigned()) {
    const auto number = value.get<uint64_t>();
    if (number > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      throw Malformed{std::string("field '") + key + "' is out of range"};
    }
    return static_cast<int64_t>(number);
  }
  if (value.is_number_integer()) return value.get<int64_t>();
  throw Malformed{std::string("field '") + key + "' is not an integer"};
}

int64_t get_integer(const json& object, const char* key) {
  return as_integer(field(object, key), key);
}

std::optional<int64_t> get_optional_integer(const json& object, const char* key) {
  const json& value = field(object, key);
  if (value.is_null()) return std::nullopt;
  return as_integer(value, key);
}

std::vector<uint8_t> get_hex(const json& object, const char* key) {
  auto bytes = format::from_hex(get_string(object, key));
  if (!bytes) throw Malformed{std::string("field '") + key + "' is not hexadecimal"};
  return std::move(*bytes);
}

// The readable times beside the integers must say the same thing: a reader of the file sees
// the text, and the hash covers only the integer.
void check_time_text(const json& object, const char* key, const std::optional<int64_t>& utc_us) {
  const json& value = field(object, key);
  if (!utc_us) {
    if (!value.is_null()) throw Malformed{std::string("field '") + key + "' should be null"};
    return;
  }
  if (!value.is_string() || value.get_ref<const std::string&>() != format::format_utc(*utc_us)) {
    throw Malformed{std::string("field '") + key + "' does not match its _utc_us integer"};
  }
}

ParsedEntry parse_entry(const json& object, int64_t line) {
  format::EntryFields fields;
  fields.seq = get_integer(object, "seq");
  fields.time_utc_us = get_integer(object, "time_utc_us");
  check_time_text(object, "time", fields.time_utc_us);
  fields.actor_id = get_optional_integer(object, "actor_id");
  fields.actor_name = get_string(object, "actor_name");
  fields.actor_role = get_string(object, "actor_role");
  fields.client_address = get_string(object, "client_address");
  fields.action = get_string(object, "action");
  fields.object_type = get_string(object, "object_type");
  fields.object_id = get_string(object, "object_id");
  fields.camera = get_string(object, "camera");
  fields.range_from_utc_us = get_optional_integer(object, "range_from_utc_us");
  check_time_text(object, "range_from", fields.range_from_utc_us);
  fields.range_to_utc_us = get_optional_integer(object, "range_to_utc_us");
  check_time_text(object, "range_to", fields.range_to_utc_us);
  fields.purpose = get_string(object, "purpose");
  fields.outcome = get_string(object, "outcome");
  fields.reason = get_string(object, "reason");
  fields.details = get_string(object, "details");
  fields.prev_hash = get_hex(object, "prev_hash");
  const std::vector<uint8_t> stored = get_hex(object, "hash");
  if (stored.size() != format::kHashBytes) throw Malformed{"field 'hash' is not 32 bytes"};

  ParsedEntry entry;
  entry.seq = fields.seq;
  entry.line = line;
  entry.time_utc_us = fields.time_utc_us;
  std::copy(stored.begin(), stored.end(), entry.hash.begin());
  const format::Hash computed = format::entry_hash(fields);
  entry.hash_holds = computed == entry.hash;
  if (!entry.hash_holds) entry.written_as_seq = format::written_as(fields, stored);
  entry.prev_hash = std::move(fields.prev_hash);
  return entry;
}

ParsedCheckpoint parse_checkpoint(const json& object, int64_t line) {
  ParsedCheckpoint checkpoint;
  checkpoint.line = line;
  checkpoint.seq = get_integer(object, "seq");
  checkpoint.head_hash = get_hex(object, "head_hash");
  checkpoint.time_utc_us = get_integer(object, "time_utc_us");
  check_time_text(object, "time", checkpoint.time_utc_us);
  checkpoint.public_key = get_hex(object, "public_key");
  checkpoint.signature = get_hex(object, "signature");
  return checkpoint;
}

ParsedAnchor parse_anchor(const json& object, int64_t line) {
  ParsedAnchor anchor;
  anchor.line = line;
  anchor.seq = get_integer(object, "seq");
  anchor.hash = get_hex(object, "hash");
  anchor.time_utc_us = get_integer(object, "time_utc_us");
  check_time_text(object, "time", anchor.time_utc_us);
  anchor.public_key = get_hex(object, "public_key");
  anchor.signature = get_hex(object, "signature");
  return anchor;
}

// What is wrong with the anchor itself, or nothing.
std::optional<Failure> check_anchor(const ParsedAnchor& anchor,
                                    const std::vector<uint8_t>& device_key) {
  const std::string at = "pruning anchor at entry " + std::to_string(anchor.seq);
  const int64_t place = std::max<int64_t>(anchor.seq, 1);
  if (anchor.public_key != device_key) {
    return Failure{place, at + ": signed by a different key (fingerprint " +
                              format::key_fingerprint(anchor.public_key) + ") than the device's"};
  }
  if (anchor.seq < 1 || !format::anchor_signature_valid(anchor.seq, anchor.hash, anchor.time_utc_us,
                                                        device_key, anchor.signature)) {
    return Failure{place, at + ": signature invalid (forged?)"};
  }
  return std::nullopt;
}

std::string entries_range(int64_t first, int64_t last) {
  if (first == last) return "entry " + std::to_string(first);
  return "entries " + std::to_string(first) + "–" + std::to_string(last);
}

// The entries in file order must be 1, 2, 3, … (or, after pruning, anchor + 1, + 2, …) each
// hashing to its stored hash and linked to the one before (the first to zero, or to the
// anchor's hash). Returns the first place where that fails.
std::optional<Failure> check_chain(const std::vector<ParsedEntry>& entries,
                                   const std::optional<ParsedAnchor>& anchor) {
  std::map<int64_t, int64_t> line_of_seq;
  for (const auto& entry : entries) line_of_seq.emplace(entry.seq, entry.line);

  const int64_t start_seq = anchor ? anchor->seq : 0;
  int64_t last_seq = start_seq;
  std::vector<uint8_t> last_hash(format::kGenesisPrevHash.begin(), format::kGenesisPrevHash.end());
  if (anchor) last_hash = anchor->hash;
  for (const auto& entry : entries) {
    const int64_t expected = last_seq + 1;
    const std::string at = "entry " + std::to_string(entry.seq);
    if (anchor && entry.seq <= start_seq) {
      return Failure{entry.seq, at + " is older than the pruning anchor at entry " +
                                    std::to_string(start_seq) +
                                    " yet in the export (added after pruning?)"};
    }
    if (entry.seq != expected) {
      auto elsewhere = line_of_seq.find(expected);
      if (elsewhere != line_of_seq.end()) {
        return Failure{expected, "entries " + std::to_string(expected) + " and " +
                                     std::to_string(entry.seq) + " out of order (line " +
                                     std::to_string(entry.line) + " holds entry " +
                                     std::to_string(entry.seq) + " where entry " +
                                     std::to_string(expected) + " belongs)"};
      }
      if (entry.seq < expected) {
        return Failure{entry.seq, at + " appears again on line " + std::to_string(entry.line) +
                                      " (duplicated?)"};
      }
      return Failure{expected, entries_range(expected, entry.seq - 1) + " missing (deleted?)"};
    }
    if (!entry.hash_holds) {
      if (entry.written_as_seq) {
        const int64_t other = *entry.written_as_seq;
        return Failure{entry.seq, "entries " + std::to_string(std::min(entry.seq, other)) +
                                      " and " + std::to_string(std::max(entry.seq, other)) +
                                      " out of order (" + at + " holds what was written as entry " +
                                      std::to_string(other) + ")"};
      }
      return Failure{entry.seq, at + ": hash does not match its contents (edited?)"};
    }
    if (entry.prev_hash != last_hash) {
      if (entry.seq == 1) {
        return Failure{1,
                       "entry 1: does not start the chain (its previous hash is not zero; "
                       "entries before it removed?)"};
      }
      if (last_seq == start_seq) {
        return Failure{entry.seq, at + ": does not continue from the pruning anchor at entry " +
                                      std::to_string(start_seq) +
                                      " (rewritten with a recomputed hash?)"};
      }
      return Failure{last_seq, "entry " + std::to_string(last_seq) + ": not the entry that entry " +
                                   std::to_string(entry.seq) +
                                   " was chained to (rewritten with a recomputed hash?)"};
    }
    last_seq = entry.seq;
    last_hash.assign(entry.hash.begin(), entry.hash.end());
  }
  return std::nullopt;
}

}  // namespace

AuditCheck check_audit_export(std::istream& input) {
  AuditCheck check;
  int64_t line_number = 0;
  std::vector<ParsedEntry> entries;
  std::vector<ParsedCheckpoint> checkpoints;
  std::optional<ParsedAnchor> anchor;
  std::optional<int64_t> seq_on_line;
  try {
    std::string text;
    if (!std::getline(input, text)) throw Malformed{"the file is empty"};
    line_number = 1;
    const json device = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!device.is_object() || !device.contains("type") || device["type"] != "device") {
      throw Malformed{"the first line is not the {\"type\":\"device\", …} line"};
    }
    if (get_string(device, "format") != format::kExportFormat) {
      throw Malformed{"not a " + std::string(format::kExportFormat) + " file"};
    }
    check.public_key = get_hex(device, "public_key");
    if (check.public_key.size() != format::kPublicKeyBytes) {
      throw Malformed{"the device public key is not 32 bytes"};
    }
    if (device.contains("fingerprint") &&
        get_string(device, "fingerprint") != format::key_fingerprint(check.public_key)) {
      throw Malformed{"the device line's fingerprint is not that of its public key"};
    }
    if (device.contains("device_id")) check.device_id = get_string(device, "device_id");

    while (std::getline(input, text)) {
      ++line_number;
      seq_on_line.reset();
      if (text.empty()) continue;
      const json object = json::parse(text, nullptr, /*allow_exceptions=*/false);
      if (!object.is_object()) throw Malformed{"not a JSON object"};
      if (object.contains("seq") && object["seq"].is_number_integer()) {
        seq_on_line = as_integer(object["seq"], "seq");
      }
      const std::string type = get_string(object, "type");
      if (type == "entry") {
        entries.push_back(parse_entry(object, line_number));
      } else if (type == "checkpoint") {
        checkpoints.push_back(parse_checkpoint(object, line_number));
      } else if (type == "anchor") {
        // The journal keeps one anchor; two would leave the start of the chain ambiguous.
        if (anchor) {
          throw Malformed{"a second pruning anchor (the first is on line " +
                          std::to_string(anchor->line) + ")"};
        }
        anchor = parse_anchor(object, line_number);
      } else {
        throw Malformed{"unknown line type '" + type + "'"};
      }
    }
  } catch (const Malformed& malformed) {
    check.line = line_number;
    check.first_failing_seq = seq_on_line;
    check.problem = "line " + std::to_string(line_number) + ": " + malformed.message;
    return check;
  }

  check.entries = static_cast<int64_t>(entries.size());
  check.checkpoints = static_cast<int64_t>(checkpoints.size());
  if (entries.empty()) {
    check.problem = "the export holds no entries; there is nothing to verify";
    return check;
  }
  check.first_time_utc_us = entries.front().time_utc_us;
  check.last_time_utc_us = entries.back().time_utc_us;

  // A bad anchor is the earliest failure there can be: everything after it hangs on it.
  std::optional<Failure> first;
  if (anchor) {
    first = check_anchor(*anchor, check.public_key);
    if (!first) {
      check.pruned_through_seq = anchor->seq;
      check.pruned_utc_us = anchor->time_utc_us;
    }
  }
  if (!first) first = check_chain(entries, anchor);
  // Up to here the chain holds, so an entry's stored hash is the one the device computed.
  const int64_t first_seq = entries.front().seq;
  const int64_t chain_good_until = first ? first->seq - 1 : entries.back().seq;
  const int64_t pruned_through = check.pruned_through_seq.value_or(0);

  std::sort(checkpoints.begin(), checkpoints.end(),
            [](const auto& a, const auto& b) { return a.seq < b.seq; });
  for (const auto& checkpoint : checkpoints) {
    if (first && checkpoint.seq >= first->seq) break;
    const std::string at = "checkpoint at entry " + std::to_string(checkpoint.seq);
    std::optional<std::string> problem;
    if (checkpoint.public_key != check.public_key) {
      problem = at + ": signed by a different key (fingerprint " +
                format::key_fingerprint(checkpoint.public_key) + ") than the device's";
    } else if (!format::checkpoint_signature_valid(checkpoint.seq, checkpoint.head_hash,
                                                   checkpoint.time_utc_us, check.public_key,
                                                   checkpoint.signature)) {
      problem = at + ": signature invalid (forged?)";
    } else if (checkpoint.seq <= pruned_through) {
      continue;  // signs an entry pruned before the export: it vouches for nothing here
    } else if (checkpoint.seq < first_seq) {
      problem = at + ": the device signed entry " + std::to_string(checkpoint.seq) +
                ", which the export lacks (entries removed after they were signed)";
    } else if (checkpoint.seq > chain_good_until) {
      problem = at + ": the device signed entry " + std::to_string(checkpoint.seq) +
                " but the export ends at entry " + std::to_string(chain_good_until) +
                " (entries removed after they were signed)";
    } else {
      // The chain is contiguous from first_seq up to chain_good_until.
      const auto& entry = entries[static_cast<size_t>(checkpoint.seq - first_seq)];
      if (!std::equal(entry.hash.begin(), entry.hash.end(), checkpoint.head_hash.begin(),
                      checkpoint.head_hash.end())) {
        problem = at + ": entry " + std::to_string(checkpoint.seq) +
                  " is not the entry the device signed (rewritten up to it?)";
      }
    }
    if (problem) {
      first = Failure{checkpoint.seq, *problem};
      break;
    }
    check.last_signed_seq = checkpoint.seq;
  }

  if (!first && check.last_signed_seq < entries.back().seq) {
    const int64_t unsigned_from = std::max(check.last_signed_seq, pruned_through) + 1;
    first = Failure{
        unsigned_from,
        check.last_signed_seq == 0
            ? std::string("no signed checkpoint: nothing in this export is vouched for by the "
                          "device")
            : entries_range(unsigned_from, entries.back().seq) +
                  (unsigned_from == entries.back().seq ? " comes" : " come") +
                  " after the last signed checkpoint (entry " +
                  std::to_string(check.last_signed_seq) +
                  "): nothing vouches for them (added or changed after the export?)"};
  }

  if (first) {
    check.first_failing_seq = first->seq;
    check.problem = std::move(first->problem);
    return check;
  }
  check.ok = true;
  return check;
}

}  // namespace yardwatch::verify
