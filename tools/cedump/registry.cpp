// cedump registry: the live registry (or a subtree) read through the registry requests, as a
// table, JSON or a .reg file that imports back to the same keys and values
// (docs/cedump.md "registry").
#include "tools/cedump/registry.h"

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "common/utf.h"
#include "fsys/registry/key.h"
#include "fsys/registry/reg_file.h"
#include "protocol/messages.h"

namespace cek::cedump {

namespace {

namespace reg = fsys::registry;
namespace proto = cek::proto;
using coredll::CallStatus;
using coredll::Connection;

bool ok(const CallStatus& s) { return s.delivered && !s.failed; }

std::span<const std::byte> bytes_of(const std::u16string& s) {
    return std::as_bytes(std::span(s.data(), s.size()));
}

// One value's bytes, the rest read in parts with its stamp (false: it changed or went).
bool read_value(Connection& c, uint32_t hkey, const std::u16string& name, uint64_t stamp,
                std::vector<std::byte>& data) {
    while (data.size() < data.capacity()) {
        proto::RegQueryValueRequest req{hkey, static_cast<uint32_t>(name.size()),
                                        static_cast<uint32_t>(data.size()), 0, stamp};
        proto::RegQueryValueReply rep{};
        std::byte part[proto::kRegValueReplyInline];
        CallStatus s = c.call(req, rep, bytes_of(name), part);
        if (!ok(s) || rep.stamp != stamp || s.data_bytes == 0) return false;
        data.insert(data.end(), part, part + std::min<size_t>(s.data_bytes, data.capacity() - data.size()));
    }
    return true;
}

// Copies the key `hkey` (open in the kernel) and its subtree into `into`.
bool copy_key(Connection& c, uint32_t hkey, reg::Tree& tree, const reg::KeyRef& into,
              std::string& error) {
    for (uint32_t i = 0;; ++i) {
        proto::RegEnumValueRequest req{hkey, i};
        proto::RegEnumValueReply rep{};
        std::byte reply[proto::kRegEnumValueInline];
        CallStatus s = c.call(req, rep, {}, reply);
        if (!ok(s)) {
            if (s.error == Win32Error::ERROR_NO_MORE_ITEMS) break;
            error = "RegEnumValue: " + std::string(error_name(s.error));
            return false;
        }
        std::u16string name(rep.name_chars, u'\0');
        std::memcpy(name.data(), reply, rep.name_chars * 2);
        const size_t first = s.data_bytes - rep.name_chars * 2;
        std::vector<std::byte> data;
        data.reserve(rep.size);
        data.insert(data.end(), reply + rep.name_chars * 2, reply + rep.name_chars * 2 + first);
        if (data.size() < rep.size && !read_value(c, hkey, name, rep.stamp, data)) {
            --i;  // it changed under us: read it again
            continue;
        }
        (void)tree.set_value(into, name, rep.type, data);
    }
    for (uint32_t i = 0;; ++i) {
        proto::RegEnumKeyRequest req{hkey, i};
        proto::RegEnumKeyReply rep{};
        char16_t text[2 * (proto::kRegNameMaxChars + 1)];
        CallStatus s = c.call(req, rep, {}, std::as_writable_bytes(std::span(text)));
        if (!ok(s)) {
            if (s.error == Win32Error::ERROR_NO_MORE_ITEMS) break;
            error = "RegEnumKey: " + std::string(error_name(s.error));
            return false;
        }
        std::u16string name(text, rep.name_chars);
        std::u16string cls(text + rep.name_chars, rep.class_chars);
        proto::RegOpenKeyRequest open{hkey, static_cast<uint32_t>(name.size())};
        proto::RegOpenKeyReply opened{};
        if (!ok(c.call(open, opened, bytes_of(name)))) continue;  // deleted meanwhile
        auto child = tree.create(into, name, cls, (rep.flags & proto::kRegOptionVolatile) != 0);
        bool good = child.ok() && copy_key(c, opened.hkey, tree, child.value().key, error);
        proto::RegCloseKeyRequest close{opened.hkey, 0};
        proto::RegCloseKeyReply closed{};
        (void)c.call(close, closed);
        if (!good) return false;
    }
    return true;
}

std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (unsigned char ch : s) {
        if (ch == '"' || ch == '\\') {
            out += '\\';
            out += static_cast<char>(ch);
        } else if (ch < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", ch);
            out += buf;
        } else {
            out += static_cast<char>(ch);
        }
    }
    return out + "\"";
}

std::string key_text(const reg::Key& k) {
    std::string out = reg::root_name(k.root());
    if (k.parent() != nullptr) out += "\\" + utf8_from_utf16(k.path());
    return out;
}

void table(const reg::Key& k, std::string& out) {
    out += key_text(k) + (k.is_volatile() ? "  (volatile)\n" : "\n");
    for (const auto& v : k.values())
        out += "    " + (v.name.empty() ? std::string("@") : utf8_from_utf16(v.name)) + " = " +
               reg::reg_data_text(v) + "\n";
    for (const auto& c : k.children()) table(*c, out);
}

void json(const reg::Key& k, std::string& out, bool& first) {
    out += first ? "\n    " : ",\n    ";
    first = false;
    out += "{\"key\": " + json_string(key_text(k)) + ", \"volatile\": " +
           (k.is_volatile() ? "true" : "false") + ", \"class\": " +
           json_string(utf8_from_utf16(k.class_name())) + ", \"values\": [";
    bool first_value = true;
    for (const auto& v : k.values()) {
        out += first_value ? "" : ", ";
        first_value = false;
        out += "{\"name\": " + json_string(utf8_from_utf16(v.name)) +
               ", \"type\": " + std::to_string(v.type) + ", \"bytes\": " +
               std::to_string(v.data.size()) + ", \"data\": " + json_string(reg::reg_data_text(v)) + "}";
    }
    out += "]}";
    for (const auto& c : k.children()) json(*c, out, first);
}

}  // namespace

int dump_registry(Connection& kernel, const std::string& key, RegistryFormat format) {
    const size_t sep = key.find('\\');
    const auto root = reg::root_by_name(utf16_from_utf8(key.substr(0, sep)));
    std::vector<uint32_t> roots;
    std::u16string below;
    if (key.empty()) {
        roots = {reg::kClassesRoot, reg::kCurrentUser, reg::kLocalMachine, reg::kUsers};
    } else if (!root) {
        std::fprintf(stderr, "cedump: unknown registry root in '%s'\n", key.c_str());
        return 2;
    } else {
        roots = {*root};
        if (sep != std::string::npos) below = utf16_from_utf8(key.substr(sep + 1));
    }
    reg::Tree tree;
    std::vector<reg::KeyRef> tops;
    for (uint32_t r : roots) {
        proto::RegOpenKeyRequest open{r, static_cast<uint32_t>(below.size())};
        proto::RegOpenKeyReply opened{};
        CallStatus s = kernel.call(open, opened, bytes_of(below));
        if (!ok(s)) {
            std::fprintf(stderr, "cedump: %s: %s\n", key.c_str(), std::string(error_name(s.error)).c_str());
            return 1;
        }
        auto top = tree.create(tree.root(r), below, u"", false);
        std::string error;
        bool good = top.ok() && copy_key(kernel, opened.hkey, tree, top.value().key, error);
        proto::RegCloseKeyRequest close{opened.hkey, 0};
        proto::RegCloseKeyReply closed{};
        if (opened.hkey != r) (void)kernel.call(close, closed);
        if (!good) {
            std::fprintf(stderr, "cedump: reading the registry failed: %s\n", error.c_str());
            return 1;
        }
        tops.push_back(top.value().key);
    }
    std::string out;
    if (format == RegistryFormat::Reg) {
        out = "REGEDIT4\n\n";
        for (const auto& t : tops) out += reg::write_reg(*t).substr(10);  // one header
    } else if (format == RegistryFormat::Json) {
        out = "{\n  \"schema\": \"cekernel-registry\",\n  \"version\": 1,\n  \"keys\": [";
        bool first = true;
        for (const auto& t : tops) json(*t, out, first);
        out += "\n  ]\n}\n";
    } else {
        for (const auto& t : tops) table(*t, out);
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fflush(stdout);
    return 0;
}

}  // namespace cek::cedump
