// The Kernel's rule helpers that every family uses: the typed handle lookup and the named-object
// creation. Included by the kernel_*.cpp files only.
#pragma once

#include <type_traits>

#include "kernel/kernel.h"
#include "kernel/log.h"

namespace cek::kernel {

template <class T>
Result<T*> Kernel::lookup(ProcessId caller, HandleValue handle, Need need, Win32Error not_held) {
    HandleTable::Entry* entry = handles_.find_for(handle, caller);
    T* object = nullptr;
    if (entry != nullptr) {
        if constexpr (std::is_same_v<T, Waitable>)
            object = waitable_cast(entry->object.get());
        else
            object = object_cast<T>(entry->object.get());
    }
    if (object == nullptr) return not_held;
    if constexpr (std::is_same_v<T, FileObject>) {
        if (need == Need::write && !object->access().write) return Win32Error::ERROR_ACCESS_DENIED;
    }
    return object;
}

template <class Make>
Result<HandleValue> Kernel::create_named(ProcessId caller, ObjectType type,
                                         const std::u16string* name, LastError& last_error,
                                         Make&& make) {
    if (processes_.count(caller) == 0) return Win32Error::ERROR_INVALID_HANDLE;
    if (name != nullptr) {
        CEK_TRY_VOID(NameSpace::check(*name));
        if (KernelObject* hit = names_.find(type, *name)) {
            // A process at its handle quota cannot add a name's entry either.
            auto opened = handles_.open(Ref<KernelObject>(hit), caller, 0);
            if (!opened) return personality_->handle_quota_error();
            last_error = LastError::to(Win32Error::ERROR_ALREADY_EXISTS);
            log::handle()->debug("{} opened by name h={:#x}", object_type_name(type),
                                 opened->raw);
            return opened;
        }
    }
    auto made = make();
    if (!made) return made.error();
    auto object = std::move(made.value());
    if (name != nullptr) object->set_name(*name);
    CEK_TRY(HandleValue handle, insert_handle(object, caller, 0));
    if (name != nullptr) names_.bind(type, *name, object.get());
    last_error = name != nullptr ? LastError::to(Win32Error::ERROR_SUCCESS) : LastError::keep();
    log::handle()->debug("{} created h={:#x}{}", object_type_name(type), handle.raw,
                         name != nullptr ? " (named)" : "");
    return handle;
}

}  // namespace cek::kernel
