<?php

/*
 * Copyright (C) 2026 carpd contributors
 * All rights reserved.
 *
 * Redistribution and use in source and binary forms, with or without
 * modification, are permitted provided that the following conditions are met:
 *
 * 1. Redistributions of source code must retain the above copyright notice,
 *    this list of conditions and the following disclaimer.
 *
 * 2. Redistributions in binary form must reproduce the above copyright
 *    notice, this list of conditions and the following disclaimer in the
 *    documentation and/or other materials provided with the distribution.
 *
 * THIS SOFTWARE IS PROVIDED ``AS IS'' AND ANY EXPRESS OR IMPLIED WARRANTIES,
 * INCLUDING, BUT NOT LIMITED TO, THE IMPLIED WARRANTIES OF MERCHANTABILITY
 * AND FITNESS FOR A PARTICULAR PURPOSE ARE DISCLAIMED. IN NO EVENT SHALL THE
 * AUTHOR BE LIABLE FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY,
 * OR CONSEQUENTIAL DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF
 * SUBSTITUTE GOODS OR SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS
 * INTERRUPTION) HOWEVER CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN
 * CONTRACT, STRICT LIABILITY, OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE)
 * ARISING IN ANY WAY OUT OF THE USE OF THIS SOFTWARE, EVEN IF ADVISED OF THE
 * POSSIBILITY OF SUCH DAMAGE.
 */

namespace OPNsense\Carpd\Api;

use OPNsense\Base\ApiMutableModelControllerBase;
use OPNsense\Carpd\Carpd;

/**
 * /api/carpd/settings/get and /api/carpd/settings/set on the carpd model, and the grid of
 * per-VHID protocol settings (vhids.vhid): search_vhid, get_vhid, add_vhid, set_vhid and
 * del_vhid, as core's Syslog settings do for its destinations
 * (opnsense/core src/opnsense/mvc/app/controllers/OPNsense/Syslog/Api/SettingsController.php).
 * The dialog's fields are vhid.<field> (forms/dialogVhid.xml). The grid of tracked checks
 * (checks.check) likewise: search_check, get_check, add_check, set_check and del_check, with
 * the fields check.<field> (forms/dialogCheck.xml). Changes reach carpd on Apply
 * (/api/carpd/service/reconfigure).
 */
class SettingsController extends ApiMutableModelControllerBase
{
    protected static $internalModelName = 'carpd';
    protected static $internalModelClass = '\OPNsense\Carpd\Carpd';

    /**
     * The grid's rows (the vip column shows the VIP's description).
     * @return array
     */
    public function searchVhidAction()
    {
        return $this->searchBase(
            'vhids.vhid',
            ['vip', 'protocol', 'priority', 'interval', 'preempt', 'accept'],
            'vip'
        );
    }

    /**
     * One entry, or the defaults for a new one.
     * @param string|null $uuid
     * @return array
     */
    public function getVhidAction($uuid = null)
    {
        return $this->getBase('vhid', 'vhids.vhid', $uuid);
    }

    /**
     * @return array save result and validation messages
     */
    public function addVhidAction()
    {
        return $this->addBase('vhid', 'vhids.vhid');
    }

    /**
     * @param string $uuid
     * @return array save result and validation messages
     */
    public function setVhidAction($uuid)
    {
        return $this->setBase('vhid', 'vhids.vhid', $uuid);
    }

    /**
     * @param string $uuid one uuid, or several separated by commas
     * @return array
     */
    public function delVhidAction($uuid)
    {
        return $this->delBase('vhids.vhid', $uuid);
    }

    /**
     * What a posted check's type and effect do not use, cleared on save (carpd warns about a
     * field of another type, about vhids without fault and a weight on a file check, and
     * refuses a weight on a fault check). The dialog hides these fields.
     * @return array field => '' for addBase/setBase's overlay
     */
    private function checkOverlay()
    {
        $post = $this->request->getPost('check');
        $post = is_array($post) ? $post : [];
        $type = (string)($post['type'] ?? '');
        $fault = (string)($post['fault'] ?? '0') === '1';
        $overlay = [];
        foreach (Carpd::CHECK_TYPE_FIELDS as $check_type => $field) {
            if ($check_type !== $type) {
                $overlay[$field] = '';
            }
        }
        if ($fault || $type === 'file') {
            $overlay['weight'] = '';
        }
        if (!$fault) {
            $overlay['vhids'] = '';
        }
        return $overlay;
    }

    /**
     * The checks grid's rows (the type column shows the option's description).
     * @return array
     */
    public function searchCheckAction()
    {
        return $this->searchBase(
            'checks.check',
            [
                'name', 'type', 'interface', 'command', 'path', 'process', 'interval', 'timeout',
                'rise', 'fall', 'fault', 'weight', 'vhids'
            ],
            'name'
        );
    }

    /**
     * One check, or the defaults for a new one.
     * @param string|null $uuid
     * @return array
     */
    public function getCheckAction($uuid = null)
    {
        return $this->getBase('check', 'checks.check', $uuid);
    }

    /**
     * @return array save result and validation messages
     */
    public function addCheckAction()
    {
        return $this->addBase('check', 'checks.check', $this->checkOverlay());
    }

    /**
     * @param string $uuid
     * @return array save result and validation messages
     */
    public function setCheckAction($uuid)
    {
        return $this->setBase('check', 'checks.check', $uuid, $this->checkOverlay());
    }

    /**
     * @param string $uuid one uuid, or several separated by commas
     * @return array
     */
    public function delCheckAction($uuid)
    {
        return $this->delBase('checks.check', $uuid);
    }
}
