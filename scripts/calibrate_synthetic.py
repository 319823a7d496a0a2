# Fits the synthetic landscape's β (Runtime/Benchmarks/Synthetic.swift) to the real
# 20,001-cell NB101 sample: python3 scripts/calibrate_synthetic.py [nb101-20k.jsonl]
# (default: ../shared/data/nb101/nb101-20k.jsonl beside the repository).
import json, os, sys
import numpy as np
path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data", "nb101", "nb101-20k.jsonl")
L=[json.loads(x) for x in open(path)]
def feats(m,ops):
    n=len(ops); m=np.array(m)
    c3=sum(o=='conv3x3-bn-relu' for o in ops); c1=sum(o=='conv1x1-bn-relu' for o in ops); mp=sum(o=='maxpool3x3' for o in ops)
    # depth: longest path
    d=[0]*n
    for j in range(n):
        for i in range(j):
            if m[i,j]: d[j]=max(d[j],d[i]+1)
    depth=d[-1]
    width=int(m[0].sum())
    skip=int(m[0,n-1])
    edges=int(m.sum())
    # conv in-path: number of convs feeding output
    intoout=int(m[:,n-1].sum())
    return [c3,c1,mp,depth,width,skip,edges,intoout,n]
X=np.array([feats(l['matrix'],l['ops']) for l in L],float)
y=np.array([l['val_acc_108'] for l in L])
p=np.array([l['trainable_parameters'] for l in L],float)
print('mean',y.mean(),'std',y.std(),'median',np.median(y),'<0.8',(y<0.8).sum(),'<0.2',(y<0.2).sum(), 'q01',np.quantile(y,[0.001,0.01,0.05,0.25,0.5,0.75,0.95,0.99]))
names=['c3','c1','mp','depth','width','skip','edges','intoout','n']
for i,nm in enumerate(names): print(nm, np.corrcoef(X[:,i],y)[0,1], 'mean',X[:,i].mean())
print('logp corr',np.corrcoef(np.log(p),y)[0,1])
ok=y>0.5
print(np.sort(y[y<0.8])[:40])
nd = y>0.2
def design(X):
    c3,c1,mp,depth,width,skip,edges,intoout,n = X.T
    noconv = ((c3+c1)==0).astype(float)
    pp = np.log1p(9*c3 + c1)   # parameter proxy: weighted conv count
    return np.column_stack([np.ones(len(X)), c3, c1, mp, depth, width, skip, edges, intoout, noconv, pp, depth*mp, (c3+c1)/np.maximum(n-2,1)])
D=design(X)
z=np.log(1-y)
beta,*_=np.linalg.lstsq(D[nd],z[nd],rcond=None)
res=z[nd]-D[nd]@beta
print('beta',np.round(beta,5).tolist()); print('res sd',res.std(), 'R2', 1-res.var()/z[nd].var())
# skewness of residuals
print('res quantiles',np.quantile(res,[0.001,0.01,0.1,0.5,0.9,0.99,0.999]))
rng=np.random.default_rng(0)
run_sd=0.03  # in log-error space ~ relative 3% of error (~0.25% acc at 91%)
cell_sd=np.sqrt(max(res.var()-run_sd**2,0))
sim = 1-np.exp(D@beta + cell_sd*rng.standard_normal(len(D)) + run_sd*rng.standard_normal(len(D)))
print('sim mean',sim.mean(),'std',sim.std(),'q',np.quantile(sim,[0.01,0.05,0.25,0.5,0.75,0.95,0.99]),'<0.8',(sim<0.8).sum())
print('real nd mean',y[nd].mean(),'std',y[nd].std())
for i,nm in enumerate(names): print(nm, round(np.corrcoef(X[:,i],y)[0,1],3), round(np.corrcoef(X[:,i],sim)[0,1],3))
print('----')
for s,pt,lam in [(0.13,0.01,0.6),(0.14,0.005,0.8),(0.13,0.008,0.7)]:
    N=len(D)
    cell = s*rng.standard_normal(N) + (rng.random(N)<pt)*rng.exponential(lam,N)
    cell -= cell.mean()*0  # keep
    sim = 1-np.exp(D@beta - (pt*lam) + cell + run_sd*rng.standard_normal(N))
    div = rng.random(N) < 24/20001
    sim[div] = 0.0951 + 0.002*rng.standard_normal(div.sum())
    print(s,pt,lam,'mean %.4f std %.4f'%(sim.mean(),sim.std()),'q',np.round(np.quantile(sim,[0.001,0.01,0.05,0.25,0.5,0.75,0.95,0.99]),4),'<0.8',(sim<0.8).sum(),'<0.2',(sim<0.2).sum())
    print('  corr',[round(np.corrcoef(X[:,i],sim)[0,1],3) for i in range(9)])
print('real corr',[round(np.corrcoef(X[:,i],y)[0,1],3) for i in range(9)])
