import subprocess, time, os, json, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kube
res = os.environ["SNUG_VM_RESULTS"]
env = dict(l.split("=",1) for l in open(res+"/node.env").read().split())
k = kube.Kube(env["NODE_API"], res + "/ca.crt", open(res + "/admin.token").read().strip())
kc = [env["NODE_CACHE"]+"/kubectl-v1.36.2", "--kubeconfig", res+"/admin.kubeconfig"]
pod = {"apiVersion":"v1","kind":"Pod","metadata":{"name":"probe","namespace":"default"},
 "spec":{"nodeName":"snug-node","hostNetwork":True,"terminationGracePeriodSeconds":1,
  "containers":[{"name":"app","image":"localhost/snug/workload:1","imagePullPolicy":"Never","args":["idle"],
   "resources":{"requests":{"cpu":"100m","memory":"32Mi"},"limits":{"cpu":"200m","memory":"64Mi"}}}]}}
t=time.time()
k.create_pod(pod)
def running():
    p = k.pod("default", "probe")
    cs = p["status"].get("containerStatuses") or [{}]
    return p if cs[0].get("ready") else None
p = k.wait("probe running", running, 180)
print("pod running after %.1fs" % (time.time()-t))
t=time.time()
subprocess.run(kc+["get","pods","-o","wide"])
print("kubectl get took %.1fs" % (time.time()-t))
print(json.dumps(p["status"]["containerStatuses"], indent=1))
t=time.time()
k.resize("default", "probe", [{"name":"app","resources":{"requests":{"memory":"48Mi"},"limits":{"memory":"96Mi"}}}])
def resized():
    p = k.pod("default", "probe")
    r = p["status"]["containerStatuses"][0].get("resources", {})
    return p if r.get("limits", {}).get("memory") == "96Mi" else None
p = k.wait("resize", resized, 120)
print("resize reported after %.1fs" % (time.time()-t))
print(json.dumps(p["status"], indent=1))
subprocess.run(["sh","-c","for d in $(find /sys/fs/cgroup/kubepods -mindepth 2 -maxdepth 3 -type d); do echo $d $(cat $d/memory.max $d/cpu.max $d/cpu.weight); done"])
