// The registry tree's rules (ce-kernel-objects.md §6.2-6.4), hive files and .reg files.
#include <catch2/catch.hpp>

#include <fstream>

#include "fsys/registry/hive.h"
#include "fsys/registry/key.h"
#include "fsys/registry/reg_file.h"
#include "temp_root.h"

using namespace cek;
using namespace cek::fsys::registry;
using cek::fsys::test::TempDir;

namespace {

std::vector<std::byte> bytes(std::string_view s) {
    std::vector<std::byte> out;
    for (char c : s) out.push_back(static_cast<std::byte>(c));
    return out;
}

std::u16string path_of(size_t parts) {
    std::u16string p;
    for (size_t i = 0; i < parts; ++i) p += (i ? u"\\k" : u"k") + std::u16string(1, u'a' + i % 26);
    return p;
}

std::string reg_text(const Tree& t, uint32_t root) { return write_reg(*t.root(root)); }

}  // namespace

TEST_CASE("Registry: create, open, dispositions and case-insensitive names", "[fsys][registry]") {
    Tree t;
    const KeyRef& hklm = t.root(kLocalMachine);
    auto a = t.create(hklm, u"Software\\Vendor\\App", u"cls", false);
    REQUIRE(a.ok());
    CHECK(a->created);
    auto b = t.create(hklm, u"SOFTWARE\\vendor\\APP", u"other", false);
    REQUIRE(b.ok());
    CHECK_FALSE(b->created);
    CHECK(b->key == a->key);
    CHECK(a->key->class_name() == u"cls");  // the class is set at creation only
    CHECK(a->key->name() == u"App");
    CHECK(err(t.open(hklm, u"software\\VENDOR")) == Win32Error::ERROR_SUCCESS);
    CHECK(err(t.open(hklm, u"Software\\Missing")) == Win32Error::ERROR_FILE_NOT_FOUND);
    CHECK(t.open(hklm, u"").value() == hklm);                  // "" opens the key again
    CHECK(t.create(hklm, u"", u"", false)->key == hklm);
    CHECK_FALSE(t.create(hklm, u"", u"", false)->created);
}

TEST_CASE("Registry: 16 levels counting the root; names and classes up to 255", "[fsys][registry]") {
    Tree t;
    const KeyRef& hkcu = t.root(kCurrentUser);
    CHECK(err(t.create(hkcu, path_of(16), u"", false)) == Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(t.root(kCurrentUser)->children().empty());  // nothing created
    auto deep = t.create(hkcu, path_of(15), u"", false);
    REQUIRE(deep.ok());
    CHECK(deep->key->depth() == 16);
    CHECK(err(t.create(deep->key, u"x", u"", false)) == Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(err(t.create(hkcu, std::u16string(255, u'n'), u"", false)) == Win32Error::ERROR_SUCCESS);
    CHECK(err(t.create(hkcu, std::u16string(256, u'n'), u"", false)) ==
          Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(err(t.create(hkcu, u"c", std::u16string(256, u'c'), false)) ==
          Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(err(t.create(hkcu, u"a\\\\b", u"", false)) == Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(err(t.create(hkcu, u"\\lead\\trail\\", u"", false)) == Win32Error::ERROR_SUCCESS);
    CHECK(err(t.open(hkcu, u"lead\\trail")) == Win32Error::ERROR_SUCCESS);
}

TEST_CASE("Registry: values keep any type, exact bytes, up to 4096 bytes", "[fsys][registry]") {
    Tree t;
    auto k = t.create(t.root(kLocalMachine), u"V", u"", false)->key;
    CHECK(err(t.set_value(k, u"odd", 0xBAAD, bytes("xyz"))) == Win32Error::ERROR_SUCCESS);
    CHECK(t.query_value(k, u"ODD").value()->type == 0xBAAD);
    CHECK(t.query_value(k, u"odd").value()->data == bytes("xyz"));
    CHECK(err(t.set_value(k, u"one", 1, bytes("a"))) == Win32Error::ERROR_SUCCESS);
    CHECK(t.query_value(k, u"one").value()->data.size() == 1);
    std::vector<std::byte> big(4096, std::byte{7});
    CHECK(err(t.set_value(k, u"big", 3, big)) == Win32Error::ERROR_SUCCESS);
    big.resize(4097);
    CHECK(err(t.set_value(k, u"big", 3, big)) == Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(t.query_value(k, u"big").value()->data.size() == 4096);
    CHECK(err(t.set_value(k, std::u16string(256, u'v'), 4, {})) == Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(err(t.set_value(k, u"", 1, {})) == Win32Error::ERROR_SUCCESS);  // the unnamed value
    CHECK(t.query_value(k, u"").value()->data.empty());
    CHECK(err(t.set_value(k, u"ONE", 4, bytes("abcd"))) == Win32Error::ERROR_SUCCESS);
    CHECK(t.query_value(k, u"one").value()->name == u"one");  // the first name's case stays
    CHECK(err(t.delete_value(k, u"")) == Win32Error::ERROR_SUCCESS);
    CHECK(err(t.delete_value(k, u"")) == Win32Error::ERROR_FILE_NOT_FOUND);
    CHECK(err(t.query_value(k, u"missing")) == Win32Error::ERROR_FILE_NOT_FOUND);
}

TEST_CASE("Registry: enumeration, info, and deleting a subtree", "[fsys][registry]") {
    Tree t;
    const KeyRef& hklm = t.root(kLocalMachine);
    auto p = t.create(hklm, u"P", u"", false)->key;
    REQUIRE(t.create(p, u"one\\deep\\deeper", u"", false).ok());
    REQUIRE(t.create(p, u"second", u"classy", false).ok());
    REQUIRE(t.set_value(p, u"v1", 4, bytes("1234")).ok());
    REQUIRE(t.set_value(p, u"value-two", 3, bytes("123456")).ok());
    CHECK(t.enum_key(p, 0).value()->name() == u"one");
    CHECK(t.enum_key(p, 1).value()->name() == u"second");
    CHECK(err(t.enum_key(p, 2)) == Win32Error::ERROR_NO_MORE_ITEMS);
    CHECK(t.enum_value(p, 1).value()->name == u"value-two");
    CHECK(err(t.enum_value(p, 2)) == Win32Error::ERROR_NO_MORE_ITEMS);
    auto i = t.info(p).value();
    CHECK(i.subkeys == 2);
    CHECK(i.max_subkey_chars == 6);
    CHECK(i.max_class_chars == 6);
    CHECK(i.values == 2);
    CHECK(i.max_value_name_chars == 9);
    CHECK(i.max_value_bytes == 6);
    auto deeper = t.open(p, u"one\\deep\\deeper").value();
    CHECK(err(t.remove(p, u"")) == Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(err(t.remove(p, u"nothing")) == Win32Error::ERROR_FILE_NOT_FOUND);
    CHECK(err(t.remove(p, u"\\ONE\\")) == Win32Error::ERROR_SUCCESS);  // with its subkeys
    CHECK(err(t.open(p, u"one")) == Win32Error::ERROR_FILE_NOT_FOUND);
    CHECK(deeper->deleted());
    CHECK(err(t.set_value(deeper, u"x", 1, {})) == Win32Error::ERROR_KEY_DELETED);
    CHECK(err(t.create(deeper, u"x", u"", false)) == Win32Error::ERROR_KEY_DELETED);
    CHECK(t.info(p).value().subkeys == 1);
}

TEST_CASE("Registry: hives keep flushed keys and values, never volatile ones", "[fsys][registry]") {
    TempDir dir;
    const std::string sys = (dir.path() / "system.hv").string();
    std::string error;
    {
        Tree t;
        auto h = Hive::open(sys, HiveId::System, error);
        REQUIRE(h);
        CHECK(h->fresh());
        auto k = t.create(t.root(kLocalMachine), u"Software\\A", u"cls", false)->key;
        REQUIRE(t.set_value(k, u"Name", 1, bytes(std::string_view("v\0\0\0", 4))).ok());
        auto v = t.create(t.root(kLocalMachine), u"Volatile\\Child", u"", true)->key;
        REQUIRE(t.set_value(v, u"gone", 4, bytes("abcd")).ok());
        REQUIRE(t.create(t.root(kLocalMachine), u"Doomed\\Sub", u"", false).ok());
        REQUIRE(h->flush(t, error).ok());
        CHECK(t.changes(HiveId::System).empty());
        REQUIRE(t.remove(t.root(kLocalMachine), u"Doomed").ok());
        REQUIRE(t.set_value(k, u"Later", 4, bytes("wxyz")).ok());
        REQUIRE(t.delete_value(k, u"name").ok());
        REQUIRE(h->flush(t, error).ok());
        REQUIRE(t.set_value(k, u"Unflushed", 4, bytes("wxyz")).ok());  // never flushed
    }
    Tree t;
    auto h = Hive::open(sys, HiveId::System, error);
    REQUIRE(h);
    CHECK_FALSE(h->fresh());
    size_t skipped = 9;
    REQUIRE(h->load(t, skipped, error).ok());
    CHECK(skipped == 0);
    auto k = t.open(t.root(kLocalMachine), u"software\\a");
    REQUIRE(k.ok());
    CHECK(k.value()->class_name() == u"cls");
    CHECK(err(t.query_value(k.value(), u"Name")) == Win32Error::ERROR_FILE_NOT_FOUND);
    CHECK(t.query_value(k.value(), u"later").value()->data == bytes("wxyz"));
    CHECK(err(t.query_value(k.value(), u"Unflushed")) == Win32Error::ERROR_FILE_NOT_FOUND);
    CHECK(err(t.open(t.root(kLocalMachine), u"Volatile")) == Win32Error::ERROR_FILE_NOT_FOUND);
    CHECK(err(t.open(t.root(kLocalMachine), u"Doomed")) == Win32Error::ERROR_FILE_NOT_FOUND);
    // Ids continue after the loaded ones.
    auto n = t.create(t.root(kLocalMachine), u"New", u"", false)->key;
    CHECK(n->id() > k.value()->id());
}

TEST_CASE("Registry .reg: every value form, IF blocks and escapes", "[fsys][registry]") {
    const char* text =
        "REGEDIT4\n"
        "; a comment\n"
        "[HKEY_LOCAL_MACHINE\\Drivers\\Test]\n"
        "   \"Str\"=\"a \\\"quoted\\\" \\\\ path\"\n"
        "   \"Dw\"=dword:1f ; hexadecimal\n"
        "   \"Bin\"=hex:01,02,ff\n"
        "   \"Exp\"=hex(2):41,00,00,00\n"
        "   \"Long\"=hex:01,02,\\\n"
        "        03,04\n"
        "   \"Multi\"=multi_sz:\"a\",\"bc\"\n"
        "   @=\"default\"\n"
        "IF BSP_NOTHING\n"
        "   \"Skipped\"=dword:1\n"
        "ENDIF\n"
        "IF BSP_SET = yes\n"
        "   \"Taken\"=dword:2\n"
        "   IF BSP_NOTHING !\n"
        "   \"Nested\"=dword:3\n"
        "   ENDIF\n"
        "ENDIF\n"
        "[HKEY_CURRENT_USER\\Gone]\n"
        "[-HKEY_CURRENT_USER\\Gone]\n"
        "[HKCU\\Stays]\n"
        "\"x\"=dword:1\n"
        "\"x\"=-\n";
    std::vector<RegOp> ops;
    RegParseError e;
    auto vars = [](std::string_view n) -> std::optional<std::string> {
        if (n == "BSP_SET") return std::string("YES");
        return std::nullopt;
    };
    REQUIRE(parse_reg(text, vars, ops, e));
    Tree t;
    REQUIRE(apply_reg(t, ops, e));
    auto k = t.open(t.root(kLocalMachine), u"Drivers\\Test").value();
    auto str = t.query_value(k, u"Str").value();
    CHECK(str->type == 1);
    std::u16string expect = u"a \"quoted\" \\ path";
    std::vector<std::byte> eb;
    for (char16_t c : expect + std::u16string(1, u'\0')) {
        eb.push_back(static_cast<std::byte>(c & 0xFF));
        eb.push_back(static_cast<std::byte>(c >> 8));
    }
    CHECK(str->data == eb);
    CHECK(t.query_value(k, u"Dw").value()->data == bytes(std::string_view("\x1f\0\0\0", 4)));
    CHECK(t.query_value(k, u"Bin").value()->data == bytes("\x01\x02\xff"));
    CHECK(t.query_value(k, u"Exp").value()->type == 2);
    CHECK(t.query_value(k, u"Long").value()->data == bytes("\x01\x02\x03\x04"));
    CHECK(t.query_value(k, u"Multi").value()->data == bytes(std::string_view("a\0\0\0b\0c\0\0\0\0\0", 12)));
    CHECK(t.query_value(k, u"").ok());
    CHECK(err(t.query_value(k, u"Skipped")) == Win32Error::ERROR_FILE_NOT_FOUND);
    CHECK(t.query_value(k, u"Taken").ok());
    CHECK(t.query_value(k, u"Nested").ok());
    CHECK(err(t.open(t.root(kCurrentUser), u"Gone")) == Win32Error::ERROR_FILE_NOT_FOUND);
    auto stays = t.open(t.root(kCurrentUser), u"Stays").value();
    CHECK(err(t.query_value(stays, u"x")) == Win32Error::ERROR_FILE_NOT_FOUND);
}

TEST_CASE("Registry .reg: a syntax error names its line and imports nothing", "[fsys][registry]") {
    const std::pair<const char*, size_t> cases[] = {
        {"[HKLM\\A]\n\"ok\"=dword:1\n\"bad\"=dword:xyz\n", 3},
        {"[HKLM\\A]\n\"bad\"=hex:1,2,300\n", 2},
        {"\"orphan\"=dword:1\n", 1},
        {"[HKEY_CURRENT_CONFIG\\A]\n", 1},
        {"[HKLM\\A]\nIF X\n", 2},
        {"ENDIF\n", 1},
        {"[HKLM\\A]\n\"s\"=\"unterminated\n", 2},
        {"[HKLM\\A\n", 1},
        {"garbage\n", 1},
        // Key names .reg syntax cannot carry back: a control character, a space at an end.
        {"[HKLM\\A]\n[HKLM\\B\x1d\\C]\n", 2},
        {"[HKLM\\A \\B]\n", 1},
        {"[HKLM\\A\\\tB]\n", 1},
    };
    for (auto [text, line] : cases) {
        std::vector<RegOp> ops;
        RegParseError e;
        INFO(text);
        CHECK_FALSE(parse_reg(text, nullptr, ops, e));
        CHECK(e.line == line);
        CHECK_FALSE(e.message.empty());
        CHECK(ops.empty());
    }
    // Too deep: 16 parts below the root.
    std::string deep = "[HKLM";
    for (int i = 0; i < 16; ++i) deep += "\\k";
    std::vector<RegOp> ops;
    RegParseError e;
    CHECK_FALSE(parse_reg(deep + "]\n", nullptr, ops, e));
}

TEST_CASE("Registry .reg: UTF-16 with a BOM", "[fsys][registry]") {
    std::u16string text = u"\uFEFF[HKLM\\U]\r\n\"n\"=\"\u00e9\"\r\n";
    std::string le;
    for (char16_t c : text) {
        le += static_cast<char>(c & 0xFF);
        le += static_cast<char>(c >> 8);
    }
    std::vector<RegOp> ops;
    RegParseError e;
    REQUIRE(parse_reg(le, nullptr, ops, e));
    REQUIRE(ops.size() == 2);
    CHECK(ops[1].data == bytes(std::string_view("\xe9\0\0\0", 4)));
}

TEST_CASE("Registry .reg: a large tree writes and reads back the same", "[fsys][registry]") {
    Tree t;
    for (int i = 0; i < 200; ++i) {
        auto k = t.create(t.root(i % 2 ? kLocalMachine : kCurrentUser),
                          u"Big\\Key" + std::u16string(1, u'A' + i % 26) + u"\\n" +
                              std::u16string(1, u'a' + i / 26),
                          u"", false)->key;
        for (int j = 0; j < 20; ++j) {
            std::vector<std::byte> d;
            for (int b = 0; b < (i * 7 + j) % 300; ++b) d.push_back(static_cast<std::byte>(b * j));
            const uint32_t type = static_cast<uint32_t>(j % 12);
            std::u16string name = u"v" + std::u16string(1, u'a' + j) + u" \"q\" \\";
            if (type == 1 || type == 7) d.assign({std::byte{'x'}, std::byte{0}, std::byte{0}, std::byte{0}});
            if (type == 4) d.assign({std::byte{1}, std::byte{2}, std::byte{3}, std::byte{4}});
            REQUIRE(t.set_value(k, name, type, d).ok());
        }
    }
    REQUIRE(t.set_value(t.root(kLocalMachine), u"", 0xBAAD, bytes("root value")).ok());
    REQUIRE(t.create(t.root(kLocalMachine), u"Empty\\Key", u"", false).ok());
    const std::string a = reg_text(t, kLocalMachine) + reg_text(t, kCurrentUser);
    std::vector<RegOp> ops;
    RegParseError e;
    REQUIRE(parse_reg(a, nullptr, ops, e));
    Tree u;
    REQUIRE(apply_reg(u, ops, e));
    CHECK(reg_text(u, kLocalMachine) + reg_text(u, kCurrentUser) == a);
    CHECK(u.key_count() == t.key_count());
}

TEST_CASE("Registry .reg: keys whose names .reg cannot carry are left out, and said so",
          "[fsys][registry]") {
    Tree t;
    REQUIRE(t.create(t.root(kLocalMachine), u"Fine\\Child", u"", false).ok());
    REQUIRE(t.create(t.root(kLocalMachine), u"Odd\x1d\\Below", u"", false).ok());
    REQUIRE(t.create(t.root(kLocalMachine), u"Spaced \\Below", u"", false).ok());
    const std::string text = reg_text(t, kLocalMachine);
    INFO(text);
    CHECK(text.find("[HKEY_LOCAL_MACHINE\\Fine\\Child]") != std::string::npos);
    CHECK(text.find("; not written: the key \"Odd?\" under HKEY_LOCAL_MACHINE") !=
          std::string::npos);
    CHECK(text.find("; not written: the key \"Spaced \" under HKEY_LOCAL_MACHINE") !=
          std::string::npos);
    CHECK(text.find("Below") == std::string::npos);
    // What was written reads back and writes the same text again, minus the comments.
    std::vector<RegOp> ops;
    RegParseError e;
    REQUIRE(parse_reg(text, nullptr, ops, e));
    Tree u;
    REQUIRE(apply_reg(u, ops, e));
    CHECK(u.key_count() == t.key_count() - 4);
}
