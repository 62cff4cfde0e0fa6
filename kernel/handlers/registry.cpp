// Requests on the registry. Rules: docs/semantics/registry.md; the wire: protocol/messages.h.
// Every answer's code goes back in the reply header; the shim returns it as the registry call's
// result and leaves the last error alone.
#include <algorithm>
#include <string>

#include "common/utf.h"
#include "kernel/handlers/handlers.h"

namespace cek::kernel::handlers {

namespace {

std::span<const std::byte> units(const std::u16string& s) {
    return std::as_bytes(std::span(s.data(), s.size()));
}

std::string hkey_text(uint32_t hkey) {
    const char* root = fsys::registry::root_name(hkey);
    return root != nullptr ? root : handle(hkey);
}

static_assert(proto::kRegPathLongest == fsys::registry::kMaxPathChars);

// A request's subkey path: its own units, or the thread's staged path (StageText). False
// when the units were not all sent (malformed); a staged path that is missing or not whole
// fails the call with ERROR_INVALID_PARAMETER.
bool subkey_of(Call& call, uint32_t chars, Extra& extra, Result<std::u16string>& out) {
    if (chars == proto::kTextStaged) {
        out = call.kernel.take_staged_text(call.thread(), proto::kStageRegistryPath);
        return true;
    }
    std::u16string text;
    if (!extra.text(chars, text)) return false;
    out = std::move(text);
    return true;
}

std::string subkey_text(uint32_t chars, Extra& extra) {
    return chars == proto::kTextStaged ? std::string("<staged>") : extra.quoted(chars);
}

}  // namespace

size_t handle(Call& call, const proto::RegCreateKeyRequest& req, Extra extra) {
    Result<std::u16string> subkey = std::u16string();
    std::u16string cls;
    if (!subkey_of(call, req.subkey_chars, extra, subkey) || !extra.text(req.class_chars, cls))
        return call.malformed();
    if (!subkey) return call.fail(subkey.error());
    auto r = call.kernel.reg_create_key(call.caller, req.hkey, subkey.value(), cls, req.options);
    if (!r) return call.fail(r.error());
    return call.ok(proto::RegCreateKeyReply{
        r.value().hkey, r.value().created ? proto::kRegCreatedNewKey : proto::kRegOpenedExistingKey});
}
std::string describe(const proto::RegCreateKeyRequest& req, Extra extra) {
    std::string out = hkey_text(req.hkey) + " subkey=" + subkey_text(req.subkey_chars, extra);
    if (req.class_chars != 0) out += " class=" + extra.quoted(req.class_chars);
    if ((req.options & proto::kRegOptionVolatile) != 0) out += " volatile";
    return out;
}
std::string describe(const proto::RegCreateKeyReply& rep, Extra) {
    return handle(rep.hkey) + (rep.disposition == proto::kRegCreatedNewKey ? " created" : " opened");
}

size_t handle(Call& call, const proto::RegOpenKeyRequest& req, Extra extra) {
    Result<std::u16string> subkey = std::u16string();
    if (!subkey_of(call, req.subkey_chars, extra, subkey)) return call.malformed();
    if (!subkey) return call.fail(subkey.error());
    auto r = call.kernel.reg_open_key(call.caller, req.hkey, subkey.value());
    if (!r) return call.fail(r.error());
    return call.ok(proto::RegOpenKeyReply{r.value(), 0});
}
std::string describe(const proto::RegOpenKeyRequest& req, Extra extra) {
    return hkey_text(req.hkey) + " subkey=" + subkey_text(req.subkey_chars, extra);
}
std::string describe(const proto::RegOpenKeyReply& rep, Extra) { return handle(rep.hkey); }

size_t handle(Call& call, const proto::RegCloseKeyRequest& req, Extra) {
    auto r = call.kernel.reg_close_key(call.caller, req.hkey);
    if (!r) return call.fail(r.error());
    return call.ok(proto::RegCloseKeyReply{0, 0});
}
std::string describe(const proto::RegCloseKeyRequest& req, Extra) { return hkey_text(req.hkey); }
std::string describe(const proto::RegCloseKeyReply&, Extra) { return "ERROR_SUCCESS"; }

size_t handle(Call& call, const proto::RegQueryValueRequest& req, Extra extra) {
    std::u16string name;
    if (!extra.text(req.name_chars, name)) return call.malformed();
    auto r = call.kernel.reg_query_value(call.caller, req.hkey, name);
    if (!r) return call.fail(r.error());
    const fsys::registry::Value& v = *r.value();
    if (req.offset != 0 && (req.stamp != v.stamp || req.offset > v.data.size()))
        return call.fail(Win32Error::ERROR_INVALID_DATA);  // changed since the first part
    const size_t n = std::min<size_t>(v.data.size() - req.offset, proto::kRegValueReplyInline);
    return call.ok(proto::RegQueryValueReply{v.type, static_cast<uint32_t>(v.data.size()), v.stamp},
                   LastError::keep(), std::span(v.data.data() + req.offset, n));
}
std::string describe(const proto::RegQueryValueRequest& req, Extra extra) {
    std::string out = hkey_text(req.hkey) + " name=" + extra.quoted(req.name_chars);
    return req.offset != 0 ? out + " from=" + to_string(req.offset) : out;
}
std::string describe(const proto::RegQueryValueReply& rep, Extra) {
    return "type=" + to_string(rep.type) + " bytes=" + to_string(rep.size);
}

size_t handle(Call& call, const proto::RegSetValueRequest& req, Extra extra) {
    std::u16string name;
    if (!extra.text(req.name_chars, name)) return call.malformed();
    const std::span<const std::byte> data = extra.rest();
    if (req.offset == 0 && data.size() == req.total) {  // the whole value: the common case
        auto r = call.kernel.reg_set_value(call.caller, req.hkey, name, req.type, data);
        if (!r) return call.fail(r.error());
        return call.ok(proto::RegSetValueReply{req.total, 0});
    }
    auto r = call.kernel.reg_set_value_part(call.thread(), req.hkey, name, req.type, req.total,
                                            req.offset, data);
    if (!r) return call.fail(r.error());
    return call.ok(proto::RegSetValueReply{r.value(), 0});
}
std::string describe(const proto::RegSetValueRequest& req, Extra extra) {
    std::string out = hkey_text(req.hkey) + " name=" + extra.quoted(req.name_chars) +
                      " type=" + to_string(req.type) + " bytes=" + to_string(req.total);
    return req.offset != 0 ? out + " part_at=" + to_string(req.offset) : out;
}
std::string describe(const proto::RegSetValueReply& rep, Extra) {
    return "staged=" + to_string(rep.staged);
}

size_t handle(Call& call, const proto::RegDeleteKeyRequest& req, Extra extra) {
    Result<std::u16string> subkey = std::u16string();
    if (!subkey_of(call, req.subkey_chars, extra, subkey)) return call.malformed();
    if (!subkey) return call.fail(subkey.error());
    auto r = call.kernel.reg_delete_key(call.caller, req.hkey, subkey.value());
    if (!r) return call.fail(r.error());
    return call.ok(proto::RegDeleteKeyReply{0, 0});
}
std::string describe(const proto::RegDeleteKeyRequest& req, Extra extra) {
    return hkey_text(req.hkey) + " subkey=" + subkey_text(req.subkey_chars, extra);
}
std::string describe(const proto::RegDeleteKeyReply&, Extra) { return "ERROR_SUCCESS"; }

size_t handle(Call& call, const proto::RegDeleteValueRequest& req, Extra extra) {
    std::u16string name;
    if (!extra.text(req.name_chars, name)) return call.malformed();
    auto r = call.kernel.reg_delete_value(call.caller, req.hkey, name);
    if (!r) return call.fail(r.error());
    return call.ok(proto::RegDeleteValueReply{0, 0});
}
std::string describe(const proto::RegDeleteValueRequest& req, Extra extra) {
    return hkey_text(req.hkey) + " name=" + extra.quoted(req.name_chars);
}
std::string describe(const proto::RegDeleteValueReply&, Extra) { return "ERROR_SUCCESS"; }

size_t handle(Call& call, const proto::RegEnumKeyRequest& req, Extra) {
    auto r = call.kernel.reg_enum_key(call.caller, req.hkey, req.index);
    if (!r) return call.fail(r.error());
    const fsys::registry::Key& k = *r.value();
    std::u16string both = k.name() + k.class_name();
    return call.ok(proto::RegEnumKeyReply{static_cast<uint32_t>(k.name().size()),
                                          static_cast<uint32_t>(k.class_name().size()),
                                          k.is_volatile() ? proto::kRegOptionVolatile : 0u, 0},
                   LastError::keep(), units(both));
}
std::string describe(const proto::RegEnumKeyRequest& req, Extra) {
    return hkey_text(req.hkey) + " index=" + to_string(req.index);
}
std::string describe(const proto::RegEnumKeyReply& rep, Extra) {
    return "name_chars=" + to_string(rep.name_chars);
}

size_t handle(Call& call, const proto::RegEnumValueRequest& req, Extra) {
    auto r = call.kernel.reg_enum_value(call.caller, req.hkey, req.index);
    if (!r) return call.fail(r.error());
    const fsys::registry::Value& v = *r.value();
    const auto name = units(v.name);
    std::vector<std::byte> out(name.begin(), name.end());
    const size_t room = proto::kRegEnumValueInline - out.size();
    out.insert(out.end(), v.data.begin(),
               v.data.begin() + static_cast<ptrdiff_t>(std::min(room, v.data.size())));
    return call.ok(proto::RegEnumValueReply{static_cast<uint32_t>(v.name.size()), v.type,
                                            static_cast<uint32_t>(v.data.size()), 0, v.stamp},
                   LastError::keep(), out);
}
std::string describe(const proto::RegEnumValueRequest& req, Extra) {
    return hkey_text(req.hkey) + " index=" + to_string(req.index);
}
std::string describe(const proto::RegEnumValueReply& rep, Extra) {
    return "type=" + to_string(rep.type) + " bytes=" + to_string(rep.size);
}

size_t handle(Call& call, const proto::RegQueryInfoRequest& req, Extra) {
    std::u16string cls;
    auto r = call.kernel.reg_query_info(call.caller, req.hkey, cls);
    if (!r) return call.fail(r.error());
    const auto& i = r.value();
    return call.ok(proto::RegQueryInfoReply{i.subkeys, i.max_subkey_chars, i.max_class_chars,
                                            i.values, i.max_value_name_chars, i.max_value_bytes,
                                            static_cast<uint32_t>(cls.size()), 0},
                   LastError::keep(), units(cls));
}
std::string describe(const proto::RegQueryInfoRequest& req, Extra) { return hkey_text(req.hkey); }
std::string describe(const proto::RegQueryInfoReply& rep, Extra) {
    return "subkeys=" + to_string(rep.subkeys) + " values=" + to_string(rep.values);
}

size_t handle(Call& call, const proto::RegFlushKeyRequest& req, Extra) {
    auto r = call.kernel.reg_flush_key(call.caller, req.hkey);
    if (!r) return call.fail(r.error());
    return call.ok(proto::RegFlushKeyReply{0, 0});
}
std::string describe(const proto::RegFlushKeyRequest& req, Extra) { return hkey_text(req.hkey); }
std::string describe(const proto::RegFlushKeyReply&, Extra) { return "ERROR_SUCCESS"; }

}  // namespace cek::kernel::handlers
