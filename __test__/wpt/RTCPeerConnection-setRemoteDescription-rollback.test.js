'use strict';

require('./runner/suite')('RTCPeerConnection-setRemoteDescription-rollback.html');
