/*
 * A PKCS#11 module that puts a network HSM's latency in front of another module.
 *
 * It loads the module named by LATENCY_TARGET (SoftHSM2 in the tests), hands out that module's
 * function list with one change: C_Sign waits LATENCY_MS milliseconds before passing the call
 * on, the way a module for a network HSM waits for the device's answer. Only the call that
 * signs waits (not the size query with a NULL output buffer), so a signature costs one wait,
 * like one request. The wait holds no lock: calls on different sessions wait side by side, as
 * requests in flight to a network HSM do. Everything else, the signing included, is the
 * target module's own.
 *
 * Built by the tests and the bench with:
 *   cc -shared -fPIC -O2 -I/usr/include/p11-kit-1 \
 *      -DLATENCY_TARGET='"/usr/lib/softhsm/libsofthsm2.so"' -DLATENCY_MS=10 \
 *      -o liblatency.so module.c -ldl -lpthread
 */
#include <dlfcn.h>
#include <pthread.h>
#include <time.h>

#include <p11-kit/pkcs11.h>

#ifndef LATENCY_TARGET
#error "define LATENCY_TARGET as the path of the module to wrap"
#endif
#ifndef LATENCY_MS
#error "define LATENCY_MS as the wait before each signature, in milliseconds"
#endif

static CK_FUNCTION_LIST wrapped;
static CK_FUNCTION_LIST_PTR target;
static pthread_once_t loaded = PTHREAD_ONCE_INIT;

static CK_RV slow_sign(CK_SESSION_HANDLE session, CK_BYTE_PTR data, CK_ULONG data_len,
                       CK_BYTE_PTR signature, CK_ULONG_PTR signature_len)
{
    if (signature != NULL) {
        struct timespec wait = {LATENCY_MS / 1000, (LATENCY_MS % 1000) * 1000000L};
        while (nanosleep(&wait, &wait) != 0) {
        }
    }
    return target->C_Sign(session, data, data_len, signature, signature_len);
}

CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list);

static void load(void)
{
    void *module = dlopen(LATENCY_TARGET, RTLD_NOW | RTLD_LOCAL);
    if (module == NULL) {
        return;
    }
    CK_C_GetFunctionList get = (CK_C_GetFunctionList)dlsym(module, "C_GetFunctionList");
    CK_FUNCTION_LIST_PTR list = NULL;
    if (get == NULL || get(&list) != CKR_OK || list == NULL) {
        return;
    }
    wrapped = *list;
    wrapped.C_GetFunctionList = C_GetFunctionList;
    wrapped.C_Sign = slow_sign;
    target = list;
}

CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list)
{
    if (list == NULL) {
        return CKR_ARGUMENTS_BAD;
    }
    pthread_once(&loaded, load);
    if (target == NULL) {
        return CKR_GENERAL_ERROR;
    }
    *list = &wrapped;
    return CKR_OK;
}
