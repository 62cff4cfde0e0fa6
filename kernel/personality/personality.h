// Personality: the places where CE 5 and CE 6/7 answer the same call differently, as one
// interface chosen at boot (`cekernel --personality`). Each rule of the kernel that differs
// between the two asks its personality instead of testing a version number, so a second
// personality is a new implementation of this interface, not edits across the kernel.
//
// Implemented: ce5 (CE 4.2 and 5.0, the default) and ce6 (CE 6.0 and 7.0; what of it is still
// CE 5's is listed in docs/semantics/README.md). Each method cites the page with its rules.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "kernel/core/object.h"

namespace cek::kernel {

// CreateFileMappingW's order of checks.
enum class MappingOrder { Ce5, Ce6 };
// MapViewOfFile (mappings.md §3): CE 5's views are the mapping's range at base + offset, with
// the mapping's protection; CE 6's file views each get a range of their own, with the view's
// protection, and an identical view in the same process is the same view.
enum class ViewRules { Ce5, Ce6 };

// What DuplicateHandle does once its checks passed.

struct DuplicatePlan {
    bool add_reference;  // the target gets one more reference (CE 6: always, a new entry)
    bool close_source = false;  // DUPLICATE_CLOSE_SOURCE (CE 6: the kernel closes the source)
};

// A DuplicateHandle call as the caller made it.
struct DuplicateCall {
    uint32_t source_process;
    uint32_t target_process;
    uint32_t options;
    bool inherit;
};

class Personality {
public:
    virtual ~Personality() = default;

    virtual std::string_view name() const = 0;  // "ce5"
    virtual uint32_t version() const = 0;       // 5: what snapshots and the hello report

    // Handles: one global table (CE 5, handles.md §1) or one table per process (CE 6, §9).
    virtual bool per_process_handles() const = 0;
    // Handles (docs/semantics/handles.md §6): the error for a caller at its handle quota, or a
    // table that is full.
    virtual Win32Error handle_quota_error() const = 0;

    // Mappings (docs/semantics/mappings.md §6): whether a view holds a reference on the
    // mapping's handle entry, and with it the mapping's name, until it is unmapped.
    virtual bool view_holds_handle() const = 0;
    // MapViewOfFile's checks and the view's place (mappings.md §3).
    virtual ViewRules view_rules() const = 0;
    // Whether any process may read and write any live mapping by its address without a view
    // (CE 5: every thread carries the kernel's access key; docs/semantics/mappings.md §9).
    virtual bool views_global() const = 0;

    // CreateFileForMappingW (docs/semantics/files.md §5): whether the kernel owns the handle
    // (every process may use it, the creator's clean-up list closes it), and the share mode it
    // opens with, from the desired access and the share argument.
    virtual bool kernel_owns_mapping_files() const = 0;
    virtual uint32_t mapping_file_share(uint32_t desired_access, uint32_t share) const = 0;

    // CreateFileMappingW's order of checks (mappings.md §2): CE 5's, or CE 6's (the name first,
    // bypassing every other check; the file handle's and size's checks after it).
    virtual MappingOrder mapping_order() const = 0;

    // UnmapViewOfFile of an address that is no view of the caller (mappings.md §4).
    virtual Win32Error unmap_error() const = 0;
    // Whether UnmapViewOfFile writes the view's dirty pages back (CE 6), or only the mapping's
    // end does (CE 5).
    virtual bool unmap_writes_back() const = 0;

    // TerminateProcess (processes.md §4): the error for a target already on its way out, and for
    // the caller itself (ERROR_SUCCESS: the call succeeds; the caller ends either way).
    virtual Win32Error terminate_exiting_error() const = 0;
    virtual Win32Error terminate_self_error() const = 0;

    // CreateThread with STACK_SIZE_PARAM_IS_A_RESERVATION (threads.md §2): whether `size` (as
    // a signed value) is a reservation it accepts.
    virtual bool reservation_valid(int32_t size) const = 0;
    // CreateProcessW (processes.md §2): the names the image is looked up by, in order; the error
    // for a name of MAX_PATH units or more; the longest command line it takes.
    virtual std::vector<std::u16string> image_names(std::u16string_view name) const = 0;
    virtual Win32Error long_image_name_error() const = 0;
    virtual uint32_t command_line_longest() const = 0;
    // Whether CreateProcessW is bounded by CE 5's process slots (KernelConfig::process_slots);
    // CE 6 has none: only the handle quota and the kernel's own limit of processes stop it.
    virtual bool process_slots() const = 0;

    // DuplicateHandle (docs/semantics/handles.md §5, §9): the checks, in the personality's order
    // and with its error codes. `held`: the type of the object behind the handle, when the
    // caller holds it (CE 5; CE 6 checks only the call's flags here, the kernel the rest).
    virtual Result<DuplicatePlan> duplicate(const DuplicateCall& call,
                                             std::optional<ObjectType> held) const = 0;
};

// CreateFileForMappingW's share rule, the same in CE 5's kernel and CE 6's coredll (files.md
// §5): exactly GENERIC_READ shares reads, anything else is exclusive, FILE_SHARE_WRITE_OVERRIDE
// shares both.
uint32_t cffm_share_mode(uint32_t desired_access, uint32_t share);
// Whether an image name ends in ".exe", in any case.
bool ends_with_exe(std::u16string_view name);

std::unique_ptr<Personality> make_ce5();
std::unique_ptr<Personality> make_ce6();

// The personality for a CE major version (5, 6; 4 counts as 5 and 7 as 6), or an error text
// saying why not.
struct PersonalityChoice {
    std::unique_ptr<Personality> personality;
    std::string error;  // set when `personality` is null
};
PersonalityChoice choose_personality(uint32_t version);
// The same, by the name `cekernel --personality` takes ("ce5", "ce6").
PersonalityChoice choose_personality(std::string_view name);

}  // namespace cek::kernel
